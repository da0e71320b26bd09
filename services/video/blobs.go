package video

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	dapr "github.com/dapr/go-sdk/client"
)

// BindingName is the Dapr output binding holding video and cover files. The
// component is scoped to AppID.
const BindingName = "media"

// ChunkSize is the size of the pieces a video file is stored in. A ranged
// read fetches only the chunks it overlaps, and neither an upload nor a read
// holds more than one chunk of a file in memory at a time.
const ChunkSize = 1 << 20

// Blobs is what the video service needs from blob storage: whole small
// objects, written, read and deleted by key.
type Blobs interface {
	// Put writes data under key, replacing any object there.
	Put(ctx context.Context, key string, data []byte) error
	// Get reads the object under key.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes the object under key.
	Delete(ctx context.Context, key string) error
}

// DaprBlobs keeps blobs behind a Dapr output binding, using only its create,
// get and delete operations, so that the component YAML alone chooses the
// store (local files, S3, Azure Blob Storage, GCS...).
//
// Bindings name the object key differently in their request metadata (local
// storage says fileName, S3 and GCS say key, Azure says blobName); every
// request carries all three names, and each binding reads its own. Data
// travels as raw bytes; the files stored here (sniffed video containers and
// JPEG covers) never start with a quote nor consist of base64 text, the two
// encodings some bindings try to undo on create.
type DaprBlobs struct {
	dapr dapr.Client
	name string
}

// NewDaprBlobs returns Blobs on the Dapr output binding called name.
func NewDaprBlobs(client dapr.Client, name string) *DaprBlobs {
	return &DaprBlobs{dapr: client, name: name}
}

func keyMetadata(key string) map[string]string {
	return map[string]string{"fileName": key, "key": key, "blobName": key}
}

// Put writes data under key with the binding's create operation.
func (b *DaprBlobs) Put(ctx context.Context, key string, data []byte) error {
	err := b.dapr.InvokeOutputBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.name, Operation: "create", Data: data, Metadata: keyMetadata(key),
	})
	if err != nil {
		return fmt.Errorf("write blob %s: %w", key, err)
	}
	return nil
}

// Get reads key with the binding's get operation.
func (b *DaprBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.dapr.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.name, Operation: "get", Metadata: keyMetadata(key),
	})
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", key, err)
	}
	return out.Data, nil
}

// Delete removes key with the binding's delete operation.
func (b *DaprBlobs) Delete(ctx context.Context, key string) error {
	err := b.dapr.InvokeOutputBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.name, Operation: "delete", Metadata: keyMetadata(key),
	})
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// newBlobID returns a random name for the files of one upload. Files are
// named before the video has an id: the id is taken only when the video is
// committed, so that ids stay dense.
func newBlobID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("blob name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// chunkKey names chunk n of a video's file. The first two characters of the
// random name spread the files over 256 folders on stores that have them.
func chunkKey(blob string, n int64) string {
	return fmt.Sprintf("%s/%s-%05d.part", blob[:2], blob, n)
}

// coverKey names a video's cover.
func coverKey(blob string) string {
	return fmt.Sprintf("%s/%s-cover.jpg", blob[:2], blob)
}

// rangeReader reads bytes [pos, end) of a chunked object, fetching each chunk
// when the read reaches it, so that only one chunk is in memory at a time.
// Close cancels its context.
type rangeReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	blobs  Blobs
	key    func(n int64) string
	chunk  int64

	pos, end int64
	cur      []byte
	curN     int64
}

func newRangeReader(ctx context.Context, cancel context.CancelFunc, blobs Blobs,
	key func(n int64) string, chunk, start, end int64,
) *rangeReader {
	return &rangeReader{ctx: ctx, cancel: cancel, blobs: blobs, key: key, chunk: chunk,
		pos: start, end: end, curN: -1}
}

// Read implements io.Reader.
func (r *rangeReader) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		return 0, io.EOF
	}
	n := r.pos / r.chunk
	if n != r.curN {
		data, err := r.blobs.Get(r.ctx, r.key(n))
		if err != nil {
			return 0, err
		}
		r.cur, r.curN = data, n
	}
	off := r.pos - n*r.chunk
	stop := min(int64(len(r.cur)), off+(r.end-r.pos))
	if off >= stop {
		return 0, fmt.Errorf("read blob %s: %w", r.key(n), io.ErrUnexpectedEOF)
	}
	k := copy(p, r.cur[off:stop])
	r.pos += int64(k)
	return k, nil
}

// Close implements io.Closer.
func (r *rangeReader) Close() error {
	r.cancel()
	return nil
}
