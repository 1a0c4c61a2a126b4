package tracking

import "fmt"

// Pattern flags: where a token may match inside the user agent.
const (
	// atStart: the token starts at the first byte of the user agent.
	atStart uint8 = 1 << iota
	// atEnd: the token ends at the last byte of the user agent.
	atEnd
	// wordStart: the byte before the token is not a letter or digit.
	wordStart
	// wordEnd: the byte after the token is not a letter or digit.
	wordEnd
	// noSpace: the user agent contains no space at all (a bare "name/version").
	noSpace
)

// token is one lowercase ASCII needle of the user-agent matcher and the
// feature bits it sets when it matches under its flags.
type token struct {
	text  string
	feat  uint64
	flags uint8
}

// matcher finds every token of a fixed set in one pass over a user agent: an
// Aho-Corasick automaton compiled to a dense DFA over byte classes. ASCII
// letters are folded to one class per letter, so the input is matched case
// insensitively without being copied. Bytes that occur in no token share
// class 0. Scanning costs one table load per input byte, independent of the
// number of tokens (BenchmarkUserAgentScan, against BenchmarkUserAgentNaive
// for a loop over the tokens). Transitions hold premultiplied state IDs so
// that the per-byte dependency chain is load, add, load.
type matcher struct {
	class  [256]uint8
	stride uint32   // number of classes; state IDs in delta are premultiplied by it
	delta  []uint32 // delta[state+class] = next state (premultiplied) | hasOutput
	// outs[outIdx[state/stride]:outIdx[state/stride+1]] are the tokens that end
	// at a state, including those reached through failure links.
	outIdx []uint32
	outs   []uint16
	tokens []token
}

func newMatcher(tokens []token) *matcher {
	m := &matcher{tokens: tokens}
	if len(tokens) > 1<<16 {
		panic(fmt.Sprintf("BUG: %d user-agent tokens; at most %d fit", len(tokens), 1<<16))
	}
	// Byte classes.
	n := 1
	for _, t := range tokens {
		if t.text == "" {
			panic("BUG: empty user-agent token")
		}
		for i := 0; i < len(t.text); i++ {
			c := t.text[i]
			if c >= 'A' && c <= 'Z' || c >= 0x80 {
				panic(fmt.Sprintf("BUG: user-agent token %q must be lowercase ASCII", t.text))
			}
			if m.class[c] == 0 {
				if n == 256 {
					panic("BUG: too many byte classes")
				}
				m.class[c] = uint8(n)
				if c >= 'a' && c <= 'z' {
					m.class[c-'a'+'A'] = uint8(n)
				}
				n++
			}
		}
	}
	stride := n
	m.stride = uint32(stride)

	// Trie. goto_[s*stride+c] is the child of s by class c, or -1.
	goto_ := make([]int32, stride)
	for i := range goto_ {
		goto_[i] = -1
	}
	own := [][]uint16{nil}
	states := 1
	for ti, t := range tokens {
		s := 0
		for i := 0; i < len(t.text); i++ {
			c := int(m.class[t.text[i]])
			next := goto_[s*stride+c]
			if next < 0 {
				next = int32(states)
				states++
				for j := 0; j < stride; j++ {
					goto_ = append(goto_, -1)
				}
				own = append(own, nil)
				goto_[s*stride+c] = next
			}
			s = int(next)
		}
		own[s] = append(own[s], uint16(ti))
	}
	if uint64(states)*uint64(stride) >= hasOutput {
		panic("BUG: user-agent automaton too large")
	}

	// Failure links in breadth-first order turn the trie into a DFA.
	fail := make([]int32, states)
	delta := make([]uint32, states*stride)
	outs := make([][]uint16, states)
	queue := make([]int32, 0, states)
	for c := 0; c < stride; c++ {
		child := goto_[c]
		if child < 0 {
			delta[c] = 0
			continue
		}
		delta[c] = uint32(child) * uint32(stride)
		fail[child] = 0
		queue = append(queue, child)
	}
	outs[0] = own[0]
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		outs[s] = append(append([]uint16(nil), own[s]...), outs[f]...)
		for c := 0; c < stride; c++ {
			child := goto_[int(s)*stride+c]
			if child < 0 {
				delta[int(s)*stride+c] = delta[int(f)*stride+c]
				continue
			}
			delta[int(s)*stride+c] = uint32(child) * uint32(stride)
			fail[child] = int32(delta[int(f)*stride+c] / uint32(stride))
			queue = append(queue, child)
		}
	}
	// Mark transitions into states that end a token so that scan only looks
	// up outputs (and divides by the stride) when there is something to report.
	for i, d := range delta {
		if len(outs[d/uint32(stride)]) > 0 {
			delta[i] = d | hasOutput
		}
	}
	m.delta = delta
	m.outIdx = make([]uint32, states+1)
	for s := 0; s < states; s++ {
		m.outIdx[s] = uint32(len(m.outs))
		m.outs = append(m.outs, outs[s]...)
	}
	m.outIdx[states] = uint32(len(m.outs))
	return m
}

// scan returns the union of the feature bits of every token found in ua under
// its flags. It does not allocate.
func (m *matcher) scan(ua []byte) uint64 {
	var feat uint64
	s := uint32(0)
	for i := 0; i < len(ua); i++ {
		s = m.delta[s+uint32(m.class[ua[i]])]
		if s&hasOutput == 0 {
			continue
		}
		s &^= hasOutput
		st := s / m.stride
		lo, hi := m.outIdx[st], m.outIdx[st+1]
		for _, ti := range m.outs[lo:hi] {
			t := &m.tokens[ti]
			if t.flags != 0 && !t.fits(ua, i+1-len(t.text), i+1) {
				continue
			}
			feat |= t.feat
		}
	}
	return feat
}

// fits reports whether the match ua[start:end] satisfies the token's flags.
func (t *token) fits(ua []byte, start, end int) bool {
	f := t.flags
	if f&atStart != 0 && start != 0 {
		return false
	}
	if f&atEnd != 0 && end != len(ua) {
		return false
	}
	if f&wordStart != 0 && start > 0 && isAlnum(ua[start-1]) {
		return false
	}
	if f&wordEnd != 0 && end < len(ua) && isAlnum(ua[end]) {
		return false
	}
	if f&noSpace != 0 {
		for _, c := range ua {
			if c == ' ' {
				return false
			}
		}
	}
	return true
}

// hasOutput marks a transition of matcher.delta into a state where a token ends.
const hasOutput = 1 << 31

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
