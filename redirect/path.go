package redirect

import "github.com/clickedge/clickedge/linkcache"

// ParsePath returns the cache key of a public link path: the code of "/<code>",
// or "c/<partner>/<ad>/<program>" for the structured form. One trailing slash is
// tolerated. The key is a subslice of path; ok is false for anything else.
func ParsePath(path []byte) (key []byte, ok bool) {
	if len(path) < 2 || path[0] != '/' {
		return nil, false
	}
	p := path[1:]
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if len(p) > 2 && p[0] == 'c' && p[1] == '/' {
		rest := p[2:]
		n := 0
		start := 0
		for i := 0; i <= len(rest); i++ {
			if i < len(rest) && rest[i] != '/' {
				continue
			}
			if !linkcache.IsID(rest[start:i]) {
				return nil, false
			}
			n++
			start = i + 1
		}
		if n != 3 {
			return nil, false
		}
		return p, true
	}
	if !linkcache.IsID(p) {
		return nil, false
	}
	return p, true
}
