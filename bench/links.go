package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxLinkPath bounds one link path: the structured form's three 64-byte IDs
// plus separators.
const maxLinkPath = 3 + 3*64 + 3

// ReadLinks reads a links file: one link per line, either a short code
// ("alice") or a path ("/alice", "/c/bob/spring/demo"); blank lines and lines
// starting with '#' are skipped. It returns the link paths in file order
// (the first line is the most popular under Zipf) and says which line is
// wrong when one is.
func ReadLinks(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open links file %q: %w", path, err)
	}
	defer f.Close()
	links, err := parseLinks(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read links file %q: %w", path, err)
	}
	return links, nil
}

func parseLinks(r io.Reader) ([]string, error) {
	var links []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] != '/' {
			line = "/" + line
		}
		if err := checkLinkPath(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		links = append(links, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(links) == 0 {
		return nil, errors.New("no links in it; want one code or path per line")
	}
	return links, nil
}

// checkLinkPath accepts "/<code>" and "/c/<partner>/<ad>/<program>" with IDs
// of letters, digits, '-' and '_' up to 64 bytes each.
func checkLinkPath(p string) error {
	if len(p) < 2 || p[0] != '/' || len(p) > maxLinkPath {
		return fmt.Errorf("link %q: want a short code or a /c/<partner>/<ad>/<program> path", p)
	}
	segs := strings.Split(p[1:], "/")
	if len(segs) != 1 && !(len(segs) == 4 && segs[0] == "c") {
		return fmt.Errorf("link %q: want a short code or a /c/<partner>/<ad>/<program> path", p)
	}
	if len(segs) == 4 {
		segs = segs[1:]
	}
	for _, s := range segs {
		if s == "" || len(s) > 64 {
			return fmt.Errorf("link %q: IDs are 1 to 64 characters", p)
		}
		for i := 0; i < len(s); i++ {
			if !isIDByte(s[i]) {
				return fmt.Errorf("link %q: character %q; IDs are letters, digits, '-' and '_'", p, s[i])
			}
		}
	}
	return nil
}

// AdminClient talks to the edge's admin API on the internal listener.
type AdminClient struct {
	// URL is the internal listener's base URL ("http://127.0.0.1:8081").
	URL string
	// Token is the admin API's bearer token.
	Token string
	// Client sends the requests. Default: a client with a 10s timeout.
	Client *http.Client
}

func (a *AdminClient) client() *http.Client {
	if a.Client != nil {
		return a.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// Do sends one admin request with a JSON body (nil for none) and decodes a
// 2xx answer into out (when not nil). A non-2xx answer is an *AdminError.
func (a *AdminClient) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("cannot encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.URL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("cannot build %s %q: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return fmt.Errorf("cannot call admin API %s %q: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("cannot read admin API answer to %s %q: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &AdminError{Method: method, Path: path, Status: resp.StatusCode}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil {
			ae.Message = e.Error
		}
		return ae
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("cannot decode admin API answer to %s %q: %w", method, path, err)
		}
	}
	return nil
}

// AdminError is a non-2xx answer of the admin API.
type AdminError struct {
	// Method and Path are the request's.
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is the API's {"error": ...}, when it sent one.
	Message string
}

// Error implements error.
func (e *AdminError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("admin API %s %s answered %d: %s", e.Method, e.Path, e.Status, msg)
}

// ListPrograms lists the IDs of all programs through the admin API (GET
// /api/v1/programs).
func (a *AdminClient) ListPrograms(ctx context.Context) ([]string, error) {
	var out struct {
		Programs []string `json:"programs"`
	}
	if err := a.Do(ctx, http.MethodGet, "/api/v1/programs", nil, &out); err != nil {
		return nil, fmt.Errorf("cannot list programs: %w", err)
	}
	return out.Programs, nil
}

// ListLinks lists the short codes of the given programs, or of all programs
// when none are given, through the admin API (GET /api/v1/links?program=P)
// and returns them as link paths, programs in the order given (all
// programs: sorted by ID).
func (a *AdminClient) ListLinks(ctx context.Context, programs []string) ([]string, error) {
	if len(programs) == 0 {
		all, err := a.ListPrograms(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot list links: %w", err)
		}
		if len(all) == 0 {
			return nil, errors.New("cannot list links: the edge has no programs")
		}
		programs = all
	}
	var links []string
	for _, p := range programs {
		var out struct {
			Program string   `json:"program"`
			Codes   []string `json:"codes"`
		}
		if err := a.Do(ctx, http.MethodGet, "/api/v1/links?program="+url.QueryEscape(p), nil, &out); err != nil {
			return nil, fmt.Errorf("cannot list links of program %q: %w", p, err)
		}
		for _, c := range out.Codes {
			links = append(links, "/"+c)
		}
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("cannot list links: programs %q have no links", programs)
	}
	return links, nil
}
