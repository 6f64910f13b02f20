package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// The benchmark writes the data behind its plots next to the Markdown file, in img/, as CSV;
// hack/plot (`make bench-plots`) draws them.

func writeCSV(path string, header []string, rows [][]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func imgPath(out, name string) string { return filepath.Join(filepath.Dir(out), "img", name) }

// allocatorCSV holds ns/op per benchmark, pool and fill.
func allocatorCSV(out string, parsed benchOutput) error {
	var rows [][]string
	for _, r := range parsed.rows {
		var pool, fill string
		for _, p := range r.params {
			switch p.key {
			case "pool":
				pool = p.value
			case "fill", "from":
				fill = p.value
			}
		}
		ns, ok := r.metrics["ns/op"]
		if !ok || pool == "" {
			continue
		}
		rows = append(rows, []string{r.name, pool, fill, strconv.FormatFloat(ns, 'f', 1, 64)})
	}
	return writeCSV(imgPath(out, "allocator.csv"), []string{"benchmark", "pool", "fill", "ns_per_op"}, rows)
}

// liveCSV holds every live creation latency of every run, in milliseconds.
func liveCSV(out string, results []*nResults) error {
	var rows [][]string
	for _, r := range results {
		for run, l := range r.live {
			for _, d := range l.latencies {
				rows = append(rows, []string{strconv.Itoa(r.n), strconv.Itoa(run + 1), strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)})
			}
		}
	}
	return writeCSV(imgPath(out, "live-latency.csv"), []string{"n", "run", "latency_ms"}, rows)
}
