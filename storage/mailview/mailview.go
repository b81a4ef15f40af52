// Package mailview reads an email message for people: the small Summary the message list shows,
// taken once at ingest, and the full display model the reader pane shows — decoded headers, the
// best body as safe rich text with every remote reference dropped, attachments with sanitized
// names, inline images by Content-ID, and the raw source. It implements RFC 5322, RFC 2045–2049,
// RFC 2047, RFC 2231 and RFC 2392 on top of github.com/emersion/go-message.
package mailview
