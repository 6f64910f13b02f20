// Command testsummary reads `go test -json` on stdin, prints the ordinary test output, then the
// failed tests again and a closing line "N passed, N failed, N skipped". It exits 1 when any test
// or package failed, so a pipeline with pipefail keeps go test's verdict.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	var passed, failed, skipped int
	var failures []string
	pkgFailed := map[string]bool{}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Build errors and other non-JSON output pass through unchanged.
			fmt.Fprintln(out, string(line))
			continue
		}
		switch e.Action {
		case "output":
			// Keep package verdicts, failures and test logs; drop the RUN/PAUSE/CONT chatter.
			if t := strings.TrimSpace(e.Output); strings.HasPrefix(t, "=== ") {
				continue
			}
			fmt.Fprint(out, e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" {
					pkgFailed[e.Package] = true
				}
				continue
			}
			switch e.Action {
			case "pass":
				passed++
			case "fail":
				failed++
				failures = append(failures, e.Package+" "+e.Test)
			case "skip":
				skipped++
			}
		}
		out.Flush()
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testsummary:", err)
		pkgFailed["(reading go test output)"] = true
	}
	sort.Strings(failures)
	if len(failures) > 0 {
		fmt.Fprintln(out, "\nFailed tests:")
		for _, f := range failures {
			fmt.Fprintln(out, "  "+f)
		}
	}
	for p := range pkgFailed {
		if !hasPrefixIn(failures, p+" ") {
			fmt.Fprintln(out, "Failed package (build or setup):", p)
		}
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || len(pkgFailed) > 0 {
		out.Flush()
		os.Exit(1)
	}
}

func hasPrefixIn(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
