package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestPlotsAreDrawnFromTheBenchmarksCSV(t *testing.T) {
	dir := t.TempDir()
	alloc := [][]string{
		{"Allocate", "/24", "0", "1628.0"}, {"Allocate", "/16", "0", "1960.0"}, {"Allocate", "v6-/64", "0", "1869.0"},
		{"Allocate", "/24", "99", "1671.0"}, {"Allocate", "/16", "99", "1772.0"}, {"AllocateFromReleased", "/24", "queue", "1376.0"},
	}
	live := [][]string{{"1000", "1", "12.5"}, {"1000", "1", "80.1"}, {"5000", "1", "9.0"}, {"5000", "2", "40.2"}}
	for _, c := range []struct {
		name string
		draw func([][]string, string) error
		rows [][]string
	}{{"allocator.png", allocatorPlot, alloc}, {"live-latency.png", livePlot, live}} {
		out := filepath.Join(dir, c.name)
		if err := c.draw(c.rows, out); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", c.name, err)
		}
		if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 250 {
			t.Errorf("%s is %v, too small", c.name, b)
		}
	}
	if err := allocatorPlot([][]string{{"Allocate", "/x", "0", "1"}}, filepath.Join(dir, "bad.png")); err == nil {
		t.Error("a pool that is not a prefix length was accepted")
	}
	if err := livePlot(nil, filepath.Join(dir, "empty.png")); err == nil {
		t.Error("no latencies: no error")
	}
}
