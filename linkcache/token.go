package linkcache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Token is a partner-scoped API token as stored: its secret is kept only as a
// SHA-256 hash.
type Token struct {
	// ID names the token in lists and in revocation; it is not secret.
	ID string `json:"id"`
	// Partner is the partner the token acts for.
	Partner string `json:"partner"`
	// Name is an optional label chosen at creation.
	Name string `json:"name,omitempty"`
	// Hash is the hex SHA-256 of the secret token.
	Hash string `json:"hash"`
	// Created is the creation time, unix milliseconds.
	Created int64 `json:"created"`
}

// TokenPrefix starts every partner token, so a leaked one is recognisable.
const TokenPrefix = "cep_"

// NewTokenSecret returns a new secret partner token (TokenPrefix and 32
// random bytes in hex), a new token ID and the secret's hash.
func NewTokenSecret() (secret, id, hash string) {
	var b [32]byte
	rand.Read(b[:])
	secret = TokenPrefix + hex.EncodeToString(b[:])
	var i [8]byte
	rand.Read(i[:])
	return secret, hex.EncodeToString(i[:]), HashToken(secret)
}

// HashToken returns the hex SHA-256 of a secret token, the form it is stored
// and looked up in.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Token keys: a partner's tokens in one hash next to the partner record
// (listing, revocation), and one key per secret hash pointing back to it
// (authentication). They live in different Redis Cluster slots, so writes are
// ordered instead of transactional: the partner's hash is written first on
// creation and deleted from first on revocation, and authentication requires
// both, so a token is never valid without its record.
func partnerTokensKey(partner string) string { return "ce:{r:" + partner + "}:tokens" }
func tokenHashKey(hash string) string        { return "ce:{t:" + hash + "}:token" }

// tokenRef is what a hash key holds.
type tokenRef struct {
	Partner string `json:"partner"`
	ID      string `json:"id"`
}

// PutToken stores a new token of an existing partner; t.Hash must be a
// HashToken result.
func (s *Store) PutToken(ctx context.Context, t *Token) error {
	if err := CheckID("partner", t.Partner); err != nil {
		return err
	}
	if err := checkText("name", t.Name, 200, false); err != nil {
		return err
	}
	if len(t.Hash) != 64 || len(t.ID) == 0 {
		panic("BUG: PutToken needs an ID and a SHA-256 hash")
	}
	if _, err := s.GetPartner(ctx, t.Partner); err != nil {
		return notFoundField(err, "partner", t.Partner)
	}
	b, err := json.Marshal(t)
	if err != nil {
		panic("BUG: cannot encode token: " + err.Error())
	}
	if err := s.client.HSet(ctx, partnerTokensKey(t.Partner), t.ID, b).Err(); err != nil {
		return s.fail(err)
	}
	ref, _ := json.Marshal(tokenRef{Partner: t.Partner, ID: t.ID})
	if err := s.client.Set(ctx, tokenHashKey(t.Hash), ref, 0).Err(); err != nil {
		s.client.HDel(ctx, partnerTokensKey(t.Partner), t.ID)
		return s.fail(err)
	}
	return nil
}

// TokenByHash returns the live token whose secret hashes to hash, or
// ErrNotFound (unknown or revoked).
func (s *Store) TokenByHash(ctx context.Context, hash string) (*Token, error) {
	var ref tokenRef
	if err := s.getJSON(ctx, tokenHashKey(hash), &ref); err != nil {
		return nil, err
	}
	b, err := s.client.HGet(ctx, partnerTokensKey(ref.Partner), ref.ID).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound // revoked; the hash key is being removed
	}
	if err != nil {
		return nil, s.fail(err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("cannot decode token %q of partner %q: %w", ref.ID, ref.Partner, err)
	}
	if t.Hash != hash {
		return nil, ErrNotFound
	}
	return &t, nil
}

// ListTokens returns a partner's tokens, oldest first.
func (s *Store) ListTokens(ctx context.Context, partner string) ([]Token, error) {
	m, err := s.client.HGetAll(ctx, partnerTokensKey(partner)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]Token, 0, len(m))
	for id, v := range m {
		var t Token
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return nil, fmt.Errorf("cannot decode token %q of partner %q: %w", id, partner, err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created < out[j].Created
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteToken revokes a partner's token, or returns ErrNotFound. It takes
// effect at once: authentication needs the partner's record of the token.
func (s *Store) DeleteToken(ctx context.Context, partner, id string) error {
	b, err := s.client.HGet(ctx, partnerTokensKey(partner), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return s.fail(err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("cannot decode token %q of partner %q: %w", id, partner, err)
	}
	if err := s.client.HDel(ctx, partnerTokensKey(partner), id).Err(); err != nil {
		return s.fail(err)
	}
	if err := s.client.Del(ctx, tokenHashKey(t.Hash)).Err(); err != nil {
		s.fail(err) // the token is already invalid without its record
	}
	return nil
}

// PartnerLinks returns the links of program that belong to partner, read
// with one pipelined round trip over the program's codes.
func (s *Store) PartnerLinks(ctx context.Context, program, partner string) ([]string, error) {
	codes, err := s.ListLinks(ctx, program)
	if err != nil || len(codes) == 0 {
		return nil, err
	}
	cmds := make([]*redis.StringCmd, len(codes))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range codes {
			cmds[i] = p.Get(ctx, linkKey(c))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail(err)
	}
	var out []string
	for i, c := range cmds {
		b, err := c.Bytes()
		if err != nil {
			continue // deleted meanwhile
		}
		var l Link
		if json.Unmarshal(b, &l) == nil && l.Partner == partner {
			out = append(out, codes[i])
		}
	}
	return out, nil
}
