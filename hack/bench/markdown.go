package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// docIntro starts a benchmarks file that does not exist yet.
const docIntro = `# Benchmarks

Herald's performance figures. Each section below was measured on the machine, on the date and with
the command it names, and sits between ` + "`<!-- NAME:begin -->` and `<!-- NAME:end -->`" + ` markers:
the command that produces a section rewrites only the text between its markers, so sections are
regenerated independently (and may come from different machines). ` + "`make bench`" + ` regenerates
all of them.

| section | what it measures | regenerate with |
| --- | --- | --- |
| allocator | one Assign plus Release in pools of every size and fill (` + "`internal/allocator`" + `) | ` + "`make bench-allocator`" + ` |
| controller | herald-controller end to end against a real kube-apiserver and etcd | ` + "`make bench-controller`" + ` |
`

// writeSection replaces the text between the section's markers in the file at path, appending
// the section when the markers are missing and creating the file when it is.
func writeSection(path, name, body string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = []byte(docIntro), nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := replaceSection(string(b), name, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".benchmarks-*.md")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(doc); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replaceSection puts body between `<!-- name:begin -->` and `<!-- name:end -->` in doc.
func replaceSection(doc, name, body string) (string, error) {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	body = strings.TrimRight(body, "\n") + "\n"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	switch {
	case i < 0 && j < 0:
		return strings.TrimRight(doc, "\n") + "\n\n" + begin + "\n" + body + end + "\n", nil
	case i < 0 || j < i:
		return "", fmt.Errorf("markers of section %s are missing or out of order", name)
	}
	if strings.Contains(doc[j+len(end):], begin) {
		return "", fmt.Errorf("section %s appears twice", name)
	}
	return doc[:i] + begin + "\n" + body + doc[j:], nil
}
