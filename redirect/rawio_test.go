//go:build unix

package redirect

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestRawWrite: a write larger than the socket's buffers waits for the
// client to read and sends every byte in order; a client that reads
// nothing makes the write fail at its deadline, with Conn.Write's error; a
// client that reset the connection makes the write fail with an error
// naming the write.
func TestRawWrite(t *testing.T) {
	l := Limits{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	c, client := tcpDeadlineConn(t, &l, false)
	big := make([]byte, 16<<20)
	for i := range big {
		big[i] = byte(i * 7 / 5)
	}
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(io.LimitReader(client, int64(len(big)))); got <- b }()
	calls := 0
	c.writeFD = func(fd uintptr) bool { calls++; return c.writeSyscall(fd) }
	if n, err := c.Write(big); n != len(big) || err != nil {
		t.Fatalf("wrote %d, %v; want %d bytes", n, err, len(big))
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("the client read %d bytes, not what was written", len(b))
	}
	if calls < 2 {
		t.Fatalf("a 16 MiB write through loopback called back %d times; want it to wait for the client at least once", calls)
	}

	short := l
	short.WriteTimeout = 200 * time.Millisecond
	c, _ = tcpDeadlineConn(t, &short, false)
	n, err := c.Write(big)
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" || !oe.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) || n <= 0 || n >= len(big) {
		t.Fatalf("write to a client that reads nothing: %d bytes, %v; want part of them and a write timeout", n, err)
	}

	c, client = tcpDeadlineConn(t, &l, false)
	client.(*net.TCPConn).SetLinger(0) // Close sends a reset
	client.Close()
	for i := 0; ; i++ {
		if _, err = c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
			break
		}
		if i == 100 {
			t.Fatal("writes to a reset connection went on succeeding")
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.As(err, &oe) || oe.Op != "write" || oe.Timeout() {
		t.Fatalf("write to a reset connection: %v; want a write error", err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "write" {
		t.Fatalf("write to a reset connection: %v; want the write(2) error", err)
	}
}
