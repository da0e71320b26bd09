package sidecar

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IsETagMismatch reports whether err is a state store's refusal of a write
// whose ETag no longer matches, or of a first write to a key that exists.
func IsETagMismatch(err error) bool {
	if err == nil {
		return false
	}
	var s interface{ GRPCStatus() *status.Status }
	return errors.As(err, &s) && s.GRPCStatus().Code() == codes.Aborted
}
