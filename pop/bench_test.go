package pop

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
)

// benchServer answers every command on a loopback TCP connection with reply; the greeting is "+OK".
func benchServer(b *testing.B, reply []byte) *Client {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("+OK\r\n"))
		br := bufio.NewReader(conn)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			if _, err := conn.Write(reply); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClient(conn, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkRetr reads a 16 MB message of 76-byte lines (some dot-stuffed) over loopback TCP: the
// speed of the dot reader and of the deadline handling under it.
func BenchmarkRetr(b *testing.B) {
	var w bytes.Buffer
	w.WriteString("+OK\r\n")
	line := strings.Repeat("abcdefghij", 7) + "abcd\r\n"
	for i := 0; w.Len() < 16<<20; i++ {
		if i%10 == 0 {
			w.WriteByte('.')
		}
		w.WriteString(line)
	}
	w.WriteString(".\r\n")
	c := benchServer(b, w.Bytes())
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(w.Len()))
	b.ResetTimer()
	for b.Loop() {
		r, err := c.Retr(context.Background(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
