// Package benchdoc writes measured figures into sections of a Markdown file: each section sits
// between `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers, and the command that measures it
// rewrites only its own section, so sections are regenerated independently.
package benchdoc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteSection replaces the text between the section's markers in the file at path, appending
// the section when the markers are missing and creating the file, starting with intro, when it
// is.
func WriteSection(path, name, body, intro string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = []byte(intro), nil
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

// Intro starts docs/benchmarks.md when it does not exist yet.
const Intro = "# Benchmarks\n\nHerald's performance figures; `make bench` regenerates every section.\n"

// DefaultPath returns docs/benchmarks.md of the repository holding the working directory (a
// directory with go.mod and docs/ above it).
func DefaultPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if st, err := os.Stat(filepath.Join(dir, "docs")); err == nil && st.IsDir() {
				return filepath.Join(dir, "docs", "benchmarks.md"), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("benchdoc: no repository with go.mod and docs/ above the working directory")
		}
		dir = parent
	}
}
