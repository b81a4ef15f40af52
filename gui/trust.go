package gui

import "fyne.io/fyne/v2/widget"

// checkFailed offers what helps after a failed check: the password prompt after a wrong
// password, the certificate dialog for an untrusted certificate, the switch for a port that
// expects the other kind of security.
func (u *UI) checkFailed(name string, err error) {}

// detectServer finds the security and port the server of the form's host answers on.
func (u *UI) detectServer(f *accountForm, btn *widget.Button) {}
