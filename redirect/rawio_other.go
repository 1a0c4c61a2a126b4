//go:build !unix

package redirect

// initRawIO does nothing here: connections read and write through
// Conn.Read and Conn.Write, and never read late.
func (c *deadlineConn) initRawIO(bool) {}

func (c *deadlineConn) read(b []byte, _ bool) (int, error) { return c.Conn.Read(b) }

func (c *deadlineConn) write(b []byte) (int, error) { return c.Conn.Write(b) }
