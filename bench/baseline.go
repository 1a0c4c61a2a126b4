package bench

import (
	"fmt"
	"net/url"

	"github.com/valyala/fasthttp"
)

// DefaultBaselineLocation is the Location the baseline answers with: an
// Amazon product URL of the length of a real Associates destination.
const DefaultBaselineLocation = "https://www.amazon.com/dp/B08N5WRWNW?tag=benchpartner-20&linkCode=ll1&ascsubtag=bench"

// BaselineConfig configures the baseline server.
type BaselineConfig struct {
	// Location is the 302's Location header. Default: DefaultBaselineLocation.
	Location string
}

// NewBaseline returns a bare fasthttp server that answers every request with
// the same 302 and nothing else: the ceiling of a fasthttp server on the
// machine at hand, against which the edge's own work is measured. It uses
// the edge's response settings (no Server or Content-Type header), so the
// difference between the two is clickedge's work.
func NewBaseline(cfg BaselineConfig) (*fasthttp.Server, error) {
	if cfg.Location == "" {
		cfg.Location = DefaultBaselineLocation
	}
	u, err := url.Parse(cfg.Location)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("cannot use baseline location %q: want an absolute URL", cfg.Location)
	}
	loc := []byte(u.String())
	hdrLocation := []byte(fasthttp.HeaderLocation)
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(fasthttp.StatusFound)
			ctx.Response.Header.SetCanonical(hdrLocation, loc)
		},
		Name:                         "baseline",
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
	}, nil
}
