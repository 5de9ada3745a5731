package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// series is one line of a chart: values at Unix times.
type series struct {
	Name string
	T    []int64
	V    []float64
}

// Chart size, in SVG user units.
const (
	chartW   = 640
	chartH   = 200
	chartPad = 40
)

// chartColors are the lines' colours, the first for the total.
var chartColors = []string{"#2b7bb9", "#d9822b", "#3a9b5c", "#b94a48", "#7d5ba6", "#6c757d"}

// lineChart draws series as an SVG line chart with a time axis from
// from to to and a value axis from 0 to the largest value, labelled
// with unit. Names are escaped.
func lineChart(title, unit string, from, to int64, ss []series) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(title))
	top := 0.0
	points := 0
	for _, s := range ss {
		for _, v := range s.V {
			top = max(top, v)
		}
		points += len(s.V)
	}
	x0, x1, y0, y1 := chartPad+20, chartW-10, chartH-chartPad+10, 20
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/><line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
		x0, y0, x1, y0, x0, y0, x0, y1)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, x0-4, y1+4, template.HTMLEscapeString(formatSI(top)+unit))
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">0</text>`, x0-4, y0)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%s</text>`, x0, chartH-8, time.Unix(from, 0).UTC().Format("15:04"))
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s UTC</text>`, x1, chartH-8, time.Unix(to, 0).UTC().Format("15:04"))
	if points == 0 || to <= from {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no data yet</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	if top == 0 {
		top = 1
	}
	for i, s := range ss {
		color := chartColors[i%len(chartColors)]
		b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + color + `" points="`)
		for j, v := range s.V {
			x := float64(x0) + float64(s.T[j]-from)/float64(to-from)*float64(x1-x0)
			y := float64(y0) - v/top*float64(y0-y1)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString(`"/>`)
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">%s</text>`, x0+8, y1+14*(i+1), color, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // names escaped above, the rest numbers
}

// hashrateChart draws the pool's total, the network estimate and the
// fastest workers' hashrates over samples.
func hashrateChart(title string, samples []sample, from, to int64) template.HTML {
	total := series{Name: "pool"}
	net := series{Name: "network (estimate)"}
	workers := map[string]*series{}
	var order []string
	if len(samples) > 0 {
		for _, w := range samples[len(samples)-1].Top {
			workers[w.Worker] = &series{Name: w.Worker}
			order = append(order, w.Worker)
		}
	}
	for _, s := range samples {
		total.T, total.V = append(total.T, s.T), append(total.V, s.Pool)
		net.T, net.V = append(net.T, s.T), append(net.V, s.Net)
		for _, w := range s.Top {
			if ws := workers[w.Worker]; ws != nil {
				ws.T, ws.V = append(ws.T, s.T), append(ws.V, w.Hashrate)
			}
		}
	}
	ss := []series{total, net}
	for _, name := range order {
		ss = append(ss, *workers[name])
	}
	return lineChart(title, "H/s", from, to, ss)
}
