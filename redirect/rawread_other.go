//go:build !unix

package redirect

// initRawRead does nothing here: connections read through Conn.Read and
// never read late.
func (c *deadlineConn) initRawRead() {}

func (c *deadlineConn) read(b []byte, _ bool) (int, error) { return c.Conn.Read(b) }
