package linkcache

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickedge/clickedge/linkcache/redistest"
)

func newTestStore(t *testing.T, addr string) *Store {
	t.Helper()
	s, err := NewStore(StoreConfig{Addr: addr, HealthInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("cannot create store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seed writes a US program "p" with partners "assoc" (Associates) and "maas"
// (Amazon Attribution), an ad "a1", and an empty partner "lonely".
func seed(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
	}
	must(s.PutProgram(ctx, "p", &Program{Name: "P", Marketplace: "US", ASIN: "B000000001"}))
	must(s.PutPartner(ctx, "assoc", &Partner{Name: "A"}))
	must(s.PutPartner(ctx, "maas", &Partner{Name: "M"}))
	must(s.PutPartner(ctx, "lonely", &Partner{Name: "L"}))
	must(s.PutAd(ctx, "p", "a1", &Ad{Name: "Ad", ASIN: "B000000002"}))
	must(s.PutPartnership(ctx, "p", "assoc", &Partnership{Attribution: Attribution{Tag: "assoc-20"}}))
	must(s.PutPartnership(ctx, "p", "maas", &Partnership{Attribution: Attribution{MAAS: "m1", CampaignID: "c1"}}))
}

func TestStoreResolve(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	seed(t, s)
	ctx := context.Background()

	gen := Link{Program: "p", Partner: "assoc"}
	if err := s.CreateLink(ctx, &gen); err != nil {
		t.Fatalf("cannot create link: %v", err)
	}
	if len(gen.Code) != GeneratedCodeLen || !IsID(gen.Code) || gen.Level != LevelProgram {
		t.Fatalf("unexpected generated link %+v", gen)
	}
	for _, l := range []Link{
		{Code: "prod", Program: "p", Partner: "assoc", ASIN: "B000000003"},
		{Code: "ad", Program: "p", Partner: "maas", Ad: "a1"},
	} {
		if err := s.CreateLink(ctx, &l); err != nil {
			t.Fatalf("cannot create link %q: %v", l.Code, err)
		}
	}
	dup := Link{Code: "prod", Program: "p", Partner: "maas"}
	if err := s.CreateLink(ctx, &dup); !errors.Is(err, ErrExists) {
		t.Fatalf("unexpected error for a taken code; got %v; want ErrExists", err)
	}

	f := func(key, wantLoc, wantLevel string) {
		t.Helper()
		tg, err := s.Resolve(ctx, key)
		if err != nil {
			t.Fatalf("cannot resolve %q: %v", key, err)
		}
		if string(tg.Location) != wantLoc || string(tg.Level) != wantLevel {
			t.Fatalf("unexpected target of %q; got %q %q; want %q %q", key, tg.Location, tg.Level, wantLoc, wantLevel)
		}
	}
	f(gen.Code, "https://www.amazon.com/dp/B000000001?tag=assoc-20", LevelProgram)
	f("prod", "https://www.amazon.com/dp/B000000003?tag=assoc-20", LevelPartner)
	f("ad", "https://www.amazon.com/dp/B000000002?maas=m1&ref_=aa_maas&tag=maas&aa_campaignid=c1", LevelAd)
	f("c/maas/a1/p", "https://www.amazon.com/dp/B000000002?maas=m1&ref_=aa_maas&tag=maas&aa_campaignid=c1", LevelAd)
	f("c/assoc/0/p", "https://www.amazon.com/dp/B000000001?tag=assoc-20", LevelProgram)

	for _, key := range []string{"nope", "c/lonely/0/p", "c/assoc/a2/p", "c/assoc/0/q", "c/x/0/p"} {
		if _, err := s.Resolve(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unexpected result for %q; got %v; want ErrNotFound", key, err)
		}
	}

	if err := s.PutProgram(ctx, "q", &Program{Name: "Q", Marketplace: "XX", ASIN: "B000000001"}); err == nil {
		t.Fatalf("unexpected success storing a program with a bad marketplace")
	}
	progs, err := s.ListPrograms(ctx)
	if err != nil || !slices.Equal(progs, []string{"p"}) {
		t.Fatalf("unexpected program list; got %v, %v; want [p]", progs, err)
	}
	codes, err := s.ListLinks(ctx, "p")
	if err != nil || len(codes) != 3 {
		t.Fatalf("unexpected link list; got %v, %v; want 3 codes", codes, err)
	}
	if err := s.DeleteLink(ctx, "prod"); err != nil {
		t.Fatalf("cannot delete link: %v", err)
	}
	if _, err := s.Resolve(ctx, "prod"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unexpected result for a deleted link; got %v; want ErrNotFound", err)
	}
	if err := s.DeleteLink(ctx, "prod"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unexpected second delete; got %v; want ErrNotFound", err)
	}
}

func TestStoreRefusesDanglingReferences(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	seed(t, s)
	ctx := context.Background()
	f := func(err error, wantField string) {
		t.Helper()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != wantField {
			t.Fatalf("unexpected error; got %v; want one on %q", err, wantField)
		}
	}
	f(s.PutAd(ctx, "nope", "a", &Ad{Name: "x", ASIN: "B000000001"}), "program")
	f(s.PutAd(ctx, "p", "0", &Ad{Name: "x", ASIN: "B000000001"}), "ad")
	f(s.PutAd(ctx, "p", "a9", &Ad{Name: "x", StoreURL: "https://www.amazon.de/stores/x"}), "store_url")
	f(s.PutPartnership(ctx, "nope", "assoc", &Partnership{Attribution: Attribution{Tag: "t"}}), "program")
	f(s.PutPartnership(ctx, "p", "nope", &Partnership{Attribution: Attribution{Tag: "t"}}), "partner")
	f(s.CreateLink(ctx, &Link{Program: "p", Partner: "lonely"}), "partner")
	f(s.CreateLink(ctx, &Link{Program: "p", Partner: "assoc", Ad: "a9"}), "ad")
	f(s.CreateLink(ctx, &Link{Program: "q", Partner: "assoc"}), "program")
	f(s.PutProgram(ctx, "p", &Program{Name: "P", Marketplace: "DE", ASIN: "B000000001"}), "marketplace")

	// Nothing of the refused writes is in Redis.
	keys, err := s.client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("cannot list keys: %v", err)
	}
	for _, k := range keys {
		if strings.Contains(k, "a9") || strings.Contains(k, "nope") || strings.Contains(k, "{p:q}") {
			t.Fatalf("unexpected key %q after refused writes", k)
		}
	}
	p, err := s.GetProgram(ctx, "p")
	if err != nil || p.Marketplace != "US" {
		t.Fatalf("unexpected program after a refused marketplace change; got %+v, %v", p, err)
	}
}

// TestStoreKeysHashTagged checks every key of a program carries the program's
// hash tag, so Redis Cluster keeps them in one slot for MGET.
func TestStoreKeysHashTagged(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestStore(t, srv.Addr)
	seed(t, s)
	ctx := context.Background()
	keys, err := s.client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("cannot list keys: %v", err)
	}
	n := 0
	for _, k := range keys {
		switch {
		case strings.HasSuffix(k, ":program"), strings.Contains(k, ":ad:"), strings.Contains(k, ":partnership:"):
			n++
			if !strings.HasPrefix(k, "ce:{p:p}:") {
				t.Fatalf("unexpected key %q; want the hash tag {p:p}", k)
			}
		}
	}
	if n != 4 {
		t.Fatalf("unexpected number of program keys; got %d in %q; want 4", n, keys)
	}
}
