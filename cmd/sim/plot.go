package main

import (
	"fmt"

	"github.com/powmine/powmine/chain/sim"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlot draws the majority-tip fraction over time of each rule's
// report, one line per rule, to file; the extension chooses the format
// (.svg, .png, .pdf).
func writePlot(file string, cfg sim.Config, runs int, reports map[sim.Rule]sim.Report) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Nodes on the majority tip: %d nodes, %v links, %v blocks, mean of %d runs",
		cfg.Nodes, cfg.Latency, cfg.BlockInterval, runs)
	p.X.Label.Text = "time (minutes)"
	p.Y.Label.Text = "fraction of nodes on the majority tip"
	p.X.Min, p.Y.Min, p.Y.Max = 0, 0, 1.05
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(20)
	for i, r := range sim.Rules() {
		bins := reports[r].Majority
		width := cfg.Duration.Minutes() / float64(len(bins))
		xys := make(plotter.XYs, len(bins))
		for j, f := range bins {
			xys[j].X = (float64(j) + 0.5) * width
			xys[j].Y = f
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		if r == sim.Heaviest {
			line.Width = vg.Points(3) // wide, so a line on top of it shows as well
		} else {
			line.Dashes = plotutil.Dashes(i)
		}
		p.Add(line)
		p.Legend.Add(r.String(), line)
	}
	p.X.Max = cfg.Duration.Minutes()
	if err := p.Save(8*vg.Inch, 4*vg.Inch, file); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
