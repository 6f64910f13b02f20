// Command herald-plot draws the PNG plots of docs/benchmarks.md from the CSV files the
// benchmarks write next to it (docs/img/*.csv). It is a module of its own so that the plotting
// library (gonum.org/v1/plot) stays out of the main module. Run by `make bench-plots`.
//
//	go run . -dir ../../docs/img
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func main() {
	dir := flag.String("dir", "docs/img", "directory with the CSV files; the PNGs are written next to them")
	flag.Parse()
	plots := []struct {
		csv  string
		draw func(rows [][]string, png string) error
	}{
		{"allocator.csv", allocatorPlot},
		{"live-latency.csv", livePlot},
	}
	for _, p := range plots {
		rows, err := readCSV(filepath.Join(*dir, p.csv))
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "herald-plot: no %s (run its benchmark first); skipped\n", p.csv)
			continue
		}
		if err != nil {
			fail(err)
		}
		png := filepath.Join(*dir, strings.TrimSuffix(p.csv, ".csv")+".png")
		if err := p.draw(rows, png); err != nil {
			fail(fmt.Errorf("%s: %w", p.csv, err))
		}
		fmt.Printf("herald-plot: wrote %s\n", png)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "herald-plot:", err)
	os.Exit(1)
}

// readCSV returns the rows after the header.
func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no data", path)
	}
	return rows[1:], nil
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// poolBits is the size of a benchmark pool as log2 of its addresses.
func poolBits(pool string) (float64, error) {
	v6 := strings.HasPrefix(pool, "v6-")
	bits, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(pool, "v6-"), "/"))
	if err != nil {
		return 0, fmt.Errorf("pool %q: %w", pool, err)
	}
	if v6 {
		return float64(128 - bits), nil
	}
	return float64(32 - bits), nil
}

// allocatorPlot: ns per Assign+Release against the pool's size, one line per fill level. A flat
// line is the contract: the cost does not grow with the pool.
func allocatorPlot(rows [][]string, png string) error {
	byFill := map[string]plotter.XYs{}
	for _, r := range rows {
		if len(r) != 4 || r[0] != "Allocate" {
			continue
		}
		x, err := poolBits(r[1])
		if err != nil {
			return err
		}
		y, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			return err
		}
		byFill[r[2]] = append(byFill[r[2]], plotter.XY{X: x, Y: y / 1000})
	}
	if len(byFill) == 0 {
		return errors.New("no Allocate rows")
	}
	p := plot.New()
	p.Title.Text = "Allocator: one Assign + Release"
	p.X.Label.Text = "pool size (log2 of its addresses: /24 = 8, /8 = 24, IPv6 /64 = 64)"
	p.Y.Label.Text = "µs per operation"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	fills := slices.Sorted(maps.Keys(byFill))
	for i, f := range fills {
		pts := byFill[f]
		slices.SortFunc(pts, func(a, b plotter.XY) int { return int(a.X - b.X) })
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, s.Color = palette[i%len(palette)], palette[i%len(palette)]
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add("fill "+f+"%", l, s)
	}
	p.Legend.Top = true
	return p.Save(7*vg.Inch, 4*vg.Inch, png)
}

// livePlot: the distribution (CDF) of live creation latencies, one line per N.
func livePlot(rows [][]string, png string) error {
	byN := map[int][]float64{}
	for _, r := range rows {
		if len(r) != 3 {
			continue
		}
		n, err := strconv.Atoi(r[0])
		if err != nil {
			return err
		}
		ms, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			return err
		}
		byN[n] = append(byN[n], ms)
	}
	if len(byN) == 0 {
		return errors.New("no latencies")
	}
	p := plot.New()
	p.Title.Text = "herald-controller: create to address, Services created while it runs"
	p.X.Label.Text = "latency (ms)"
	p.Y.Label.Text = "share of Services (%)"
	p.Y.Min, p.Y.Max = 0, 100
	p.Add(plotter.NewGrid())
	ns := slices.Sorted(maps.Keys(byN))
	for i, n := range ns {
		lat := slices.Sorted(slices.Values(byN[n]))
		pts := make(plotter.XYs, len(lat))
		for j, v := range lat {
			pts[j] = plotter.XY{X: v, Y: 100 * float64(j+1) / float64(len(lat))}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("N=%d (all runs)", n), l)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = -vg.Inch * 1.5
	return p.Save(7*vg.Inch, 4*vg.Inch, png)
}
