package compose

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// maxRawHeader bounds the header PrepareRaw reads.
const maxRawHeader = 1 << 20

// ErrHeaderTooLong means a message given to PrepareRaw has a header over 1 MiB.
var ErrHeaderTooLong = errors.New("compose: the message header is longer than 1 MiB")

// PrepareRaw reads the header of a ready-made message (`poplar send --raw`) and returns its
// envelope: the sender (the first Sender address, else the first From address) and the
// recipients (every To, Cc and Bcc address, each once). msg is the message with its Bcc fields
// removed and every other byte unchanged, the body streamed from r. An address field that does
// not parse gives an error naming it; no From gives ErrNoFrom, no recipient ErrNoRecipient.
// It reads r only up to the end of the header.
func PrepareRaw(r io.Reader) (envelopeFrom string, rcpts []string, msg io.Reader, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var fields [][]byte // each field with its continuation lines, as read
	var end []byte      // the blank line ending the header, as read
	total := 0
	for {
		line, err := readRawLine(br)
		total += len(line)
		if total > maxRawHeader {
			return "", nil, nil, ErrHeaderTooLong
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] = append(fields[len(fields)-1], line...)
		} else if len(bytes.TrimRight(line, "\r\n")) == 0 {
			end = line
			break
		} else {
			fields = append(fields, line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, nil, fmt.Errorf("compose: %w", err)
		}
	}
	var raw bytes.Buffer
	for _, f := range fields {
		raw.Write(f)
		if !bytes.HasSuffix(f, []byte("\n")) {
			raw.WriteString("\r\n")
		}
	}
	raw.WriteString("\r\n")
	th, err := textproto.ReadHeader(bufio.NewReader(&raw))
	if err != nil {
		return "", nil, nil, fmt.Errorf("compose: %w", err)
	}
	h := gomail.Header{}
	h.Header.Header = th
	addrs := func(key string) ([]*gomail.Address, error) {
		var out []*gomail.Address
		for fs := h.FieldsByKey(key); fs.Next(); {
			if strings.TrimSpace(fs.Value()) == "" {
				continue
			}
			list, err := gomail.ParseAddressList(fs.Value())
			if err != nil {
				return nil, fmt.Errorf("compose: the %s header: %w", key, err)
			}
			out = append(out, list...)
		}
		return out, nil
	}
	for _, key := range []string{"Sender", "From"} {
		list, err := addrs(key)
		if err != nil {
			return "", nil, nil, err
		}
		if len(list) > 0 && envelopeFrom == "" {
			envelopeFrom = list[0].Address
		}
	}
	if envelopeFrom == "" {
		return "", nil, nil, ErrNoFrom
	}
	seen := map[string]bool{}
	for _, key := range []string{"To", "Cc", "Bcc"} {
		list, err := addrs(key)
		if err != nil {
			return "", nil, nil, err
		}
		for _, a := range list {
			if k := strings.ToLower(a.Address); a.Address != "" && !seen[k] {
				seen[k] = true
				rcpts = append(rcpts, a.Address)
			}
		}
	}
	if len(rcpts) == 0 {
		return "", nil, nil, ErrNoRecipient
	}
	var out bytes.Buffer
	for _, f := range fields {
		name, _, _ := bytes.Cut(f, []byte(":"))
		if strings.EqualFold(string(bytes.TrimSpace(name)), "Bcc") {
			continue
		}
		out.Write(f)
	}
	out.Write(end)
	return envelopeFrom, rcpts, io.MultiReader(&out, br), nil
}

// readRawLine reads one line with its line end, however long.
func readRawLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := br.ReadSlice('\n')
		line = append(line, b...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
		if len(line) > maxRawHeader {
			return line, nil
		}
	}
}
