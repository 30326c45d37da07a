package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// dpi of the PNGs: sharp on a laptop screen at a width of 1000 to 1300
// pixels.
const dpi = 110

// sans is the font of every text: Liberation Sans, which gonum/plot
// embeds, reads better at small sizes than its default serif.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func init() {
	plot.DefaultFont = sans
	plotter.DefaultFont = sans
}

// The servers' colours (Okabe and Ito's palette, told apart with colour
// blindness too), in the order the legends list them.
var (
	servers      = []string{"redis/resp", "pykv/resp", "pykv/native"}
	serverColour = map[string]color.Color{
		"redis/resp":  color.RGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // vermillion
		"pykv/resp":   color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}, // blue
		"pykv/native": color.RGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // bluish green
	}
)

// figure is one picture: a title above a grid of plots, a caption below.
type figure struct {
	name    string // file name without its extension
	title   string
	caption string
	plots   [][]*plot.Plot // rows of plots
	w, h    vg.Length
}

func textStyle(size vg.Length, bold bool) text.Style {
	f := sans
	f.Size = size
	if bold {
		f.Weight = xfont.WeightBold
	}
	return text.Style{Color: color.Black, Font: f, Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YTop}
}

// write draws f into dir/name.ext (png or svg) and returns the path.
func (f figure) write(dir, ext string) (string, error) {
	var c vg.CanvasWriterTo
	switch ext {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.w, f.h), vgimg.UseDPI(dpi))}
	case "svg":
		c = vgsvg.New(f.w, f.h)
	default:
		return "", fmt.Errorf("unknown format %q", ext)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	const pad = vg.Length(8)
	title, caption := textStyle(vg.Points(15), true), textStyle(vg.Points(9), false)
	caption.XAlign, caption.YAlign = draw.XLeft, draw.YBottom
	th := title.Height(f.title)
	ch := caption.Height(f.caption)
	dc.FillText(title, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - pad}, f.title)
	dc.FillText(caption, vg.Point{X: dc.Min.X + pad, Y: dc.Min.Y + pad}, f.caption)

	inner := draw.Crop(dc, pad, -pad, ch+2*pad, -(th + 2*pad))
	tiles := draw.Tiles{Rows: len(f.plots), Cols: len(f.plots[0]), PadX: 4 * pad, PadY: 2 * pad}
	canvases := plot.Align(f.plots, tiles, inner)
	for i, row := range f.plots {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}

	path := filepath.Join(dir, f.name+"."+ext)
	out, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := c.WriteTo(out); err != nil {
		out.Close()
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, nil
}
