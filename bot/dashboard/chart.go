package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The charts are inline SVG computed here: no script and no library. The
// geometry is in viewBox units; CSS scales the picture to the page.
const (
	chartW, chartH         = 720.0, 220.0
	plotLeft, plotRight    = 44.0, 676.0
	plotTop, plotBottom    = 12.0, 188.0
	plotH                  = plotBottom - plotTop
	labelY                 = 206.0
	leftLabelX, rightLabel = 38.0, 682.0
)

type rect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type tick struct {
	X, Y  float64
	Label string
}

// chart is one SVG chart: bars, an optional line, and axis labels.
type chart struct {
	W, H               float64
	Left, Right        float64
	Top, Bottom        float64
	Bars               []rect
	Lines              []string // polyline point lists
	Dots               []rect   // X, Y are the centre; Title the tooltip
	YTicks, RightTicks []tick
	XTicks             []tick
	Empty              bool
	Label              string // the chart's accessible description
}

func newChart(label string) chart {
	return chart{W: chartW, H: chartH, Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom, Label: label}
}

// niceMax rounds n up to 1, 2 or 5 times a power of ten (at least 1), so
// the axis reads well.
func niceMax(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

func bucketLabel(t time.Time, step time.Duration) string {
	if step < time.Hour {
		return t.UTC().Format("15:04")
	}
	return t.UTC().Format("Jan 2 15:04")
}

// xTicks labels about six evenly spaced buckets.
func xTicks(buckets []Bucket, step time.Duration, slot float64) []tick {
	every := max(1, len(buckets)/6)
	var out []tick
	for i := 0; i < len(buckets); i += every {
		out = append(out, tick{X: plotLeft + float64(i)*slot, Y: labelY, Label: bucketLabel(buckets[i].Start, step)})
	}
	return out
}

func yTicks(top int64, x float64, unit string) []tick {
	return []tick{
		{X: x, Y: plotBottom, Label: "0" + unit},
		{X: x, Y: plotTop + plotH/2, Label: formatHalf(top) + unit},
		{X: x, Y: plotTop, Label: strconv.FormatInt(top, 10) + unit},
	}
}

func formatHalf(n int64) string {
	if n%2 == 0 {
		return strconv.FormatInt(n/2, 10)
	}
	return strconv.FormatFloat(float64(n)/2, 'f', 1, 64)
}

// stack adds one bar per non-zero value of a bucket, bottom to top.
func stack(c *chart, i int, slot float64, top int64, parts []int64, classes []string, title string) {
	x := plotLeft + float64(i)*slot + slot*0.1
	w := slot * 0.8
	y := plotBottom
	for k, v := range parts {
		if v == 0 {
			continue
		}
		h := float64(v) / float64(top) * plotH
		y -= h
		c.Bars = append(c.Bars, rect{X: x, Y: y, W: w, H: h, Class: classes[k], Title: title})
	}
}

// trafficChart draws the intake per bucket: accepted events, with refused
// requests stacked on top.
func trafficChart(buckets []Bucket, sp span) chart {
	c := newChart("Webhook requests " + sp.Label + ": accepted events and refused requests")
	var peak int64
	for _, b := range buckets {
		peak = max(peak, b.Accepted+b.Rejected)
	}
	top := niceMax(peak)
	c.Empty = peak == 0
	slot := (plotRight - plotLeft) / float64(max(len(buckets), 1))
	for i, b := range buckets {
		title := fmt.Sprintf("%s UTC: %d accepted, %d refused", bucketLabel(b.Start, sp.Step), b.Accepted, b.Rejected)
		stack(&c, i, slot, top, []int64{b.Accepted, b.Rejected}, []string{"accepted", "rejected"}, title)
	}
	c.YTicks = yTicks(top, leftLabelX, "")
	c.XTicks = xTicks(buckets, sp.Step, slot)
	return c
}

// decisionChart draws the answered and escalated turns per bucket, and the
// deflection (answered / all decided) as a line on a 0–100% axis at the
// right. Buckets without decisions have no deflection: the line breaks.
func decisionChart(buckets []Bucket, sp span) chart {
	c := newChart("Customer turns " + sp.Label + ": answered by the bot, escalated to people, and the deflection rate")
	var peak int64
	for _, b := range buckets {
		peak = max(peak, b.Answered+b.Escalated)
	}
	top := niceMax(peak)
	c.Empty = peak == 0
	slot := (plotRight - plotLeft) / float64(max(len(buckets), 1))
	var line []string
	flush := func() {
		if len(line) > 1 {
			c.Lines = append(c.Lines, strings.Join(line, " "))
		}
		line = nil
	}
	for i, b := range buckets {
		total := b.Answered + b.Escalated
		title := fmt.Sprintf("%s UTC: %d answered, %d escalated, deflection %s",
			bucketLabel(b.Start, sp.Step), b.Answered, b.Escalated, pct(b.Answered, total))
		stack(&c, i, slot, top, []int64{b.Answered, b.Escalated}, []string{"answered", "escalated"}, title)
		if total == 0 {
			flush()
			continue
		}
		x := plotLeft + (float64(i)+0.5)*slot
		y := plotBottom - float64(b.Answered)/float64(total)*plotH
		line = append(line, strconv.FormatFloat(x, 'f', 1, 64)+","+strconv.FormatFloat(y, 'f', 1, 64))
		c.Dots = append(c.Dots, rect{X: x, Y: y, Title: title})
	}
	flush()
	c.YTicks = yTicks(top, leftLabelX, "")
	c.RightTicks = []tick{
		{X: rightLabel, Y: plotBottom, Label: "0%"},
		{X: rightLabel, Y: plotTop + plotH/2, Label: "50%"},
		{X: rightLabel, Y: plotTop, Label: "100%"},
	}
	c.XTicks = xTicks(buckets, sp.Step, slot)
	return c
}
