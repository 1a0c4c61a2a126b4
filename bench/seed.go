package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// SeedConfig describes the links Seed creates through the admin API.
type SeedConfig struct {
	// Program is the program ID (US marketplace). Default: "bench".
	Program string
	// Partners is the number of partners, "<program>-p<i>". Default: 10.
	Partners int
	// Links is the number of short links, "<program>-<i>", spread over the
	// partners: every tenth is partner-level (its own ASIN), every tenth
	// ad-level, the rest program-level. Default: 1000.
	Links int
}

// benchContract is the partnerships' CPC contract: a default payout, a
// payout group and limits the rollup has to enforce under load.
const benchContract = `{"currency":"USD","default_payout":"0.05",
 "payout_groups":[{"name":"mobile-social","match":{"device":["mobile"],"source":["social"]},"payout":"0.12"}],
 "unique_window":"30m",
 "limits":[{"metric":"clicks","max":1000000,"period":"day"},{"metric":"payout","max":"5000.00","period":"month"}]}`

// Seed creates a program, an ad, partners, partnerships and links through
// the admin API and returns the link paths, short codes first, then one
// structured path per partner. It is idempotent: existing links are kept.
func (a *AdminClient) Seed(ctx context.Context, cfg SeedConfig) ([]string, error) {
	if cfg.Program == "" {
		cfg.Program = "bench"
	}
	if cfg.Partners == 0 {
		cfg.Partners = 10
	}
	if cfg.Links == 0 {
		cfg.Links = 1000
	}
	if cfg.Partners < 0 || cfg.Partners > 10000 || cfg.Links < 0 || cfg.Links > 1000000 {
		return nil, fmt.Errorf("cannot seed: %d partners and %d links; want 1 to 10000 partners and 1 to 1000000 links", cfg.Partners, cfg.Links)
	}
	prog := url.PathEscape(cfg.Program)
	steps := []struct {
		path string
		body any
	}{
		{"/api/v1/programs/" + prog, map[string]any{"name": "Bench " + cfg.Program, "marketplace": "US", "asin": "B08N5WRWNW", "timezone": "UTC"}},
		{"/api/v1/programs/" + prog + "/ads/banner", map[string]any{"name": "Bench banner", "asin": "B09B8V1LZ3"}},
	}
	for _, s := range steps {
		if err := a.Do(ctx, http.MethodPut, s.path, s.body, nil); err != nil {
			return nil, fmt.Errorf("cannot seed: %w", err)
		}
	}
	partner := func(i int) string { return fmt.Sprintf("%s-p%d", cfg.Program, i) }
	for i := 0; i < cfg.Partners; i++ {
		p := partner(i)
		if err := a.Do(ctx, http.MethodPut, "/api/v1/partners/"+url.PathEscape(p), map[string]any{"name": "Bench partner " + p}, nil); err != nil {
			return nil, fmt.Errorf("cannot seed: %w", err)
		}
		ps := map[string]any{
			"attribution": map[string]any{"tag": fmt.Sprintf("benchp%d-20", i), "linkCode": "ll1", "ascsubtag": "bench"},
			"contract":    rawJSON(benchContract),
		}
		if err := a.Do(ctx, http.MethodPut, "/api/v1/programs/"+prog+"/partners/"+url.PathEscape(p), ps, nil); err != nil {
			return nil, fmt.Errorf("cannot seed: %w", err)
		}
	}
	var links []string
	for i := 0; i < cfg.Links; i++ {
		code := fmt.Sprintf("%s-%d", cfg.Program, i)
		l := map[string]any{"program": cfg.Program, "partner": partner(i % cfg.Partners), "code": code}
		switch i % 10 {
		case 3:
			l["asin"] = "B07XJ8C8F5"
		case 7:
			l["ad"] = "banner"
		}
		err := a.Do(ctx, http.MethodPost, "/api/v1/links", l, nil)
		var ae *AdminError
		if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusConflict) {
			return nil, fmt.Errorf("cannot seed: %w", err)
		}
		links = append(links, "/"+code)
	}
	for i := 0; i < cfg.Partners; i++ {
		links = append(links, "/c/"+partner(i)+"/0/"+cfg.Program)
	}
	return links, nil
}

// rawJSON is JSON text that encoding/json embeds as it is.
type rawJSON string

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
