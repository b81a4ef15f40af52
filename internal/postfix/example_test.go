package postfix_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log"
	"os"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
)

// A test starts Dovecot, then Postfix beside it (in a test: dovecot.StartT, then postfix.StartT),
// submits a message and waits until Dovecot can serve it over POP3.
func Example() {
	dv, err := dovecot.Start(dovecot.Options{Users: []dovecot.User{{Name: "alice", Password: "pw"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer dv.Stop()
	srv, err := postfix.Start(dv, postfix.Options{Refused: []string{"gone@" + postfix.DefaultDomain}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	pem, _ := os.ReadFile(srv.CAFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := smtp.DialTLS(srv.SubmissionTLSAddr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice", "pw")); err != nil {
		log.Fatal(err)
	}
	msg := []byte("Subject: hello\r\n\r\nHello, me.\r\n")
	if err := c.SendMail(srv.Address("alice"), []string{srv.Address("alice")}, bytes.NewReader(msg)); err != nil {
		log.Fatal(err)
	}
	if err := srv.WaitDelivered("alice", 1, 10*time.Second); err != nil {
		log.Fatal(err)
	}
	// Message 1 of alice's mailbox at dv.POP3SAddr is the one sent, with Postfix's
	// Return-Path, Delivered-To and Received fields on top.
}
