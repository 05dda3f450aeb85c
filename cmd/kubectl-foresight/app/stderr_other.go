//go:build !unix

package app

import (
	"errors"
	"os"
)

// redirectStderr is not supported here: the control plane's logs stay on
// standard error.
func redirectStderr(string) (*os.File, func(), error) {
	return nil, nil, errors.New("not supported on this platform")
}
