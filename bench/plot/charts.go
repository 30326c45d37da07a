package main

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// drawAll writes every figure the data has rows for, in each format, and
// returns the paths written.
func drawAll(d *Data, dir string, exts []string) ([]string, error) {
	figs, err := figures(d)
	if err != nil {
		return nil, err
	}
	if len(figs) == 0 {
		return nil, errors.New("no rows to draw")
	}
	var paths []string
	for _, f := range figs {
		for _, ext := range exts {
			p, err := f.write(dir, ext)
			if err != nil {
				return paths, err
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// figures builds every figure the data has rows for.
func figures(d *Data) ([]figure, error) {
	var figs []figure
	caption := d.Meta.caption()
	pipelines := pipelinesOf(d.Rows)

	const wide, tall = 11 * vg.Inch, 8.5 * vg.Inch
	if len(pipelines) > 0 {
		var tp, cpu [][]*plot.Plot
		for _, pl := range pipelines {
			groups := opsGroups(d.Rows, pl)
			sub := fmt.Sprintf("-P %d: each of the connections writes %d requests at once, then reads their replies", pl, pl)
			if pl == 1 {
				sub = "-P 1: each of the connections sends one request and waits for its reply"
			}
			tp = append(tp, []*plot.Plot{groupedBars(sub, groups, wide, "requests per second",
				func(r Row) float64 { return r.Ops }, kilo)})
			cpu = append(cpu, []*plot.Plot{groupedBars(sub, groups, wide, "server CPU µs per request (user + system)",
				func(r Row) float64 { return r.CPUUs }, oneDecimal)})
		}
		figs = append(figs,
			figure{name: "throughput", title: "Throughput: pykvd (RESP and native protocol) against Redis, higher is better",
				caption: caption, plots: tp, w: wide, h: tall},
			figure{name: "cpu", title: "Server CPU time per request, lower is better",
				caption: caption, plots: cpu, w: wide, h: tall})
	}

	if len(d.Runs) > 0 {
		median := medianRuns(d.Runs)
		for _, setting := range settingsOf(d.Rows) {
			f, err := latencyFigure(d.Rows, median, setting, false, caption, wide, tall)
			if err != nil {
				return nil, err
			}
			if f != nil {
				figs = append(figs, *f)
			}
		}
		f, err := latencyFigure(d.Rows, median, "", true, caption, wide, tall/1.6)
		if err != nil {
			return nil, err
		}
		if f != nil {
			figs = append(figs, *f)
		}
	}

	var mem, ready []Row
	for _, r := range d.Rows {
		if !math.IsNaN(r.BytesPerKey) {
			mem = append(mem, r)
		}
		if r.Kind == "ready" && !math.IsNaN(r.ReadyMs) {
			ready = append(ready, r)
		}
	}
	if len(mem) > 0 {
		figs = append(figs, hbarFigure("memory",
			fmt.Sprintf("Memory per key: RSS gained over the empty process, per key (%s keys), lower is better", humanKeys(d.Meta.get("keys"))),
			"bytes per key", mem, func(r Row) float64 { return r.BytesPerKey }, func(v float64) string {
				return fmt.Sprintf("%.0f B", v)
			}, caption))
	}
	if len(ready) > 0 {
		figs = append(figs, hbarFigure("restart",
			"Start-up: process start to the first PONG, lower is better", "milliseconds", ready,
			func(r Row) float64 { return r.ReadyMs }, func(v float64) string { return fmt.Sprintf("%.0f ms", v) }, caption))
	}
	return figs, nil
}

// pipelinesOf returns the -P depths of the throughput rows, ascending.
func pipelinesOf(rows []Row) []int {
	seen := map[int]bool{}
	var out []int
	for _, r := range rows {
		if p := r.Pipeline(); r.Kind == "ops" && p > 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// settingsOf returns the settings of the throughput rows (not the cold
// reads), in the table's order.
func settingsOf(rows []Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if r.Kind == "ops" && !r.cold() && !seen[r.Setting] {
			seen[r.Setting] = true
			out = append(out, r.Setting)
		}
	}
	return out
}

func (r Row) cold() bool { return strings.HasPrefix(r.Test, "cold") }

// barGroup is one cluster of bars: one row of the table per server.
type barGroup struct {
	label string
	rows  map[string]Row // by server
}

// opsGroups returns the throughput groups of one -P depth in the table's
// order, each labelled with its test (less the -P) and setting.
func opsGroups(rows []Row, pipeline int) []barGroup {
	var out []barGroup
	at := map[string]int{}
	for _, r := range rows {
		if r.Kind != "ops" || r.Pipeline() != pipeline {
			continue
		}
		i, ok := at[r.Group]
		if !ok {
			label := strings.Replace(r.Test, fmt.Sprintf(" -P %d", pipeline), "", 1)
			label = strings.ReplaceAll(label, ", ", "\n") + "\n" + r.Setting
			i = len(out)
			at[r.Group] = i
			out = append(out, barGroup{label: label, rows: map[string]Row{}})
		}
		out[i].rows[r.Server] = r
	}
	return out
}

func kilo(v float64) string {
	if v == 0 {
		return "0"
	}
	if v >= 1e6 {
		return fmt.Sprintf("%.2fM", v/1e6)
	}
	return fmt.Sprintf("%.0fk", v/1e3)
}

func oneDecimal(v float64) string { return fmt.Sprintf("%.1f", v) }

// groupedBars draws one bar per server in each group, its value written
// above it; a server with no figure in a group gets no bar.
func groupedBars(title string, groups []barGroup, figW vg.Length, ylabel string,
	value func(Row) float64, format func(float64) string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.Text = ylabel
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	grid.Horizontal.Color = color.Gray{Y: 0xDD}
	p.Add(grid)

	// The groups share the width less the axis, each 80 % bars.
	barW := (figW - 1.5*vg.Inch) / vg.Length(max(len(groups), 1)) * 0.8 / vg.Length(len(servers))
	barW = min(barW, vg.Points(40))
	top := 0.0
	for k, s := range servers {
		vals := make(plotter.Values, len(groups))
		var xys plotter.XYs
		var texts []string
		any := false
		for i, g := range groups {
			r, ok := g.rows[s]
			v := math.NaN()
			if ok {
				v = value(r)
			}
			if math.IsNaN(v) {
				continue
			}
			any = true
			vals[i] = v
			top = math.Max(top, v)
			xys = append(xys, plotter.XY{X: float64(i), Y: v})
			texts = append(texts, format(v))
		}
		if !any {
			continue
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			panic(err) // only for a width that is not positive
		}
		bars.Color = serverColour[s]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(k-1) * barW
		p.Add(bars)
		p.Legend.Add(s, bars)
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
		if err != nil {
			panic(err) // the lengths are equal by construction
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].Font.Size = vg.Points(8)
			lab.TextStyle[i].XAlign = draw.XCenter
		}
		lab.Offset = vg.Point{X: vg.Length(k-1) * barW, Y: vg.Points(2)}
		p.Add(lab)
	}
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	p.Y.Min = 0
	p.Y.Max = top * 1.3 // room for the legend and the value labels
	p.Y.Tick.Marker = relabel(format)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.Padding = vg.Points(3)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	return p
}

// relabel is the default ticks with their labels written by format.
func relabel(format func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ts := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = format(ts[i].Value)
			}
		}
		return ts
	})
}

// decades is a log axis's ticks: every power of ten from lo to hi
// labelled (lo and hi are whole decades), 2 to 9 times each unlabelled.
func decades(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		v := math.Pow(10, d)
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		for m := 2.0; m < 10 && m*v < hi; m++ {
			ts = append(ts, plot.Tick{Value: m * v})
		}
	}
	return ts
}

// nines maps a percentile to the CDF's vertical scale: linear from 0 to
// 90 % (0 to 3), then one unit per nine (99 % is 4, 99.9 % is 5), so that
// the median and the tail both get room.
func nines(q float64) float64 {
	if q <= 90 {
		return 3 * q / 90
	}
	return 2 - math.Log10(1-q/100)
}

// maxNines is the top of the scale: 99.999 %.
var maxNines = nines(99.999)

func ninesTicks() plot.ConstantTicks {
	var ts []plot.Tick
	for _, q := range []float64{0, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999} {
		ts = append(ts, plot.Tick{Value: nines(q), Label: fmt.Sprintf("%g%%", q)})
	}
	for _, q := range []float64{10, 20, 30, 40, 60, 70, 80, 95, 99.5} {
		ts = append(ts, plot.Tick{Value: nines(q)}) // minor
	}
	return plot.ConstantTicks(ts)
}

// latencyFigure draws the latency CDFs of the throughput groups of one
// setting (or, with cold, of the cold reads), one panel per group, two
// panels a row. It returns nil when no run of those groups was kept.
func latencyFigure(rows []Row, median map[[2]string]Run, setting string, cold bool, caption string,
	w, h vg.Length) (*figure, error) {
	type panel struct {
		group, test, setting string
	}
	var panels []panel
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Kind != "ops" || r.cold() != cold || (!cold && r.Setting != setting) || seen[r.Group] {
			continue
		}
		seen[r.Group] = true
		panels = append(panels, panel{r.Group, r.Test, r.Setting})
	}
	var plots [][]*plot.Plot
	drawn := 0
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.test
		p.Title.TextStyle.Font.Size = vg.Points(12)
		p.X.Label.Text = "latency, ms (log scale)"
		p.Y.Label.Text = "requests at or under"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(decades)
		p.Y.Tick.Marker = ninesTicks()
		p.Y.Min, p.Y.Max = 0, maxNines
		grid := plotter.NewGrid()
		grid.Vertical.Color = color.Gray{Y: 0xDD}
		grid.Horizontal.Color = color.Gray{Y: 0xDD}
		p.Add(grid)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range servers {
			run, ok := median[[2]string{pn.group, s}]
			if !ok {
				continue
			}
			var xys plotter.XYs
			for _, pc := range run.Latency.Percentiles {
				if pc.Q >= 100 || pc.Ms <= 0 || nines(pc.Q) > maxNines {
					continue
				}
				xys = append(xys, plotter.XY{X: pc.Ms, Y: nines(pc.Q)})
				lo, hi = math.Min(lo, pc.Ms), math.Max(hi, pc.Ms)
			}
			if len(xys) == 0 {
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("latency of %s %s: %w", pn.group, s, err)
			}
			l.Color = serverColour[s]
			l.Width = vg.Points(2)
			if s == "pykv/native" {
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s (%s req/s)", s, kilo(run.Latency.OpsPerSec)), l)
			drawn++
		}
		if !math.IsInf(lo, 0) {
			// Whole decades, so that the log axis has labelled ticks.
			p.X.Min = math.Pow(10, math.Floor(math.Log10(lo)))
			p.X.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
		} else {
			p.X.Min, p.X.Max = 0.01, 1
		}
		p.Legend.Top, p.Legend.Left = true, true // a CDF leaves the top left empty
		p.Legend.Padding = vg.Points(3)
		p.Legend.XOffs = vg.Points(6)
		p.Legend.TextStyle.Font.Size = vg.Points(10)
		if i%2 == 0 {
			plots = append(plots, []*plot.Plot{p, nil})
		} else {
			plots[len(plots)-1][1] = p
		}
	}
	if drawn == 0 {
		return nil, nil
	}
	name, title := "latency-cold", "Latency CDFs of random GETs over the whole dataset, values cold"
	if !cold {
		name = "latency-" + strings.ReplaceAll(strings.TrimPrefix(setting, "fsync "), " ", "-")
		title = "Latency CDFs, " + setting + ": the share of requests answered within a time (up and left is better)"
	}
	return &figure{name: name, title: title, caption: caption + "\nEach curve is the run of median throughput (its rate in the legend). " +
		"The vertical scale is linear from 0 to 90 %, then gives each nine (99 %, 99.9 %, ...) the same height.",
		plots: plots, w: w, h: h}, nil
}

// hbarFigure draws one horizontal bar per row, first row on top, labelled
// with its server and test; Redis's rows in Redis's colour, pykvd's in
// pykv's.
func hbarFigure(name, title, xlabel string, rows []Row, value func(Row) float64,
	format func(float64) string, caption string) figure {
	n := len(rows)
	h := 2*vg.Inch + vg.Length(n)*0.42*vg.Inch
	p := plot.New()
	p.X.Label.Text = xlabel
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	grid := plotter.NewGrid()
	grid.Horizontal.Width = 0
	grid.Vertical.Color = color.Gray{Y: 0xDD}
	p.Add(grid)
	labels := make([]string, n)
	barW := vg.Length(0.42*0.7) * vg.Inch
	top := 0.0
	legend := map[string]bool{}
	for i, r := range rows {
		y := n - 1 - i
		labels[y] = r.Server + ": " + r.Test
		v := value(r)
		top = math.Max(top, v)
		bars, err := plotter.NewBarChart(plotter.Values{v}, barW)
		if err != nil {
			panic(err) // only for a width that is not positive
		}
		bars.Horizontal = true
		bars.XMin = float64(y)
		bars.LineStyle.Width = 0
		family := "pykvd"
		bars.Color = serverColour["pykv/resp"]
		if strings.HasPrefix(r.Server, "redis") {
			family = "Redis"
			bars.Color = serverColour["redis/resp"]
		}
		p.Add(bars)
		if !legend[family] {
			legend[family] = true
			p.Legend.Add(family, bars)
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: v, Y: float64(y)}}, Labels: []string{format(v)}})
		if err != nil {
			panic(err) // one point, one label
		}
		lab.TextStyle[0].Font.Size = vg.Points(10)
		lab.TextStyle[0].YAlign = draw.YCenter
		lab.Offset = vg.Point{X: vg.Points(4)}
		p.Add(lab)
	}
	p.NominalY(labels...)
	p.X.Min, p.X.Max = 0, top*1.35 // room for the value labels and, right of them, the legend
	p.X.Tick.Marker = relabel(func(v float64) string { return fmt.Sprintf("%g", v) })
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.Padding = vg.Points(3)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	return figure{name: name, title: title, caption: caption, plots: [][]*plot.Plot{{p}}, w: 11 * vg.Inch, h: h}
}

// humanKeys writes a key count as compare.sh's rows do: 1M, 100k.
func humanKeys(s string) string {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return s
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return s
}
