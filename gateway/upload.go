package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/video"
)

// envelopeSlack is how many bytes a publish body may carry beyond the file:
// multipart boundaries and part headers, the token and the title.
const envelopeSlack = 64 << 10

// maxField bounds a text field of an upload (token, title), in bytes.
const maxField = 16 << 10

var (
	errNotMultipart = apierr.New(apierr.Invalid,
		"publish needs a multipart/form-data body with the video file in its data field")
	errBadMultipart = apierr.New(apierr.Invalid, "the multipart body is malformed or cut off")
	errFieldTooLong = apierr.New(apierr.Invalid, "a text field of the upload is too long")
	errTwoFiles     = apierr.New(apierr.Invalid, "send one video file per upload")
)

// upload is what a publish request carries besides the file.
type upload struct {
	token string
	title string
}

// publish receives an upload as a stream: text fields are kept, and the
// file is spooled to disk, checked by its first bytes and cut off past the
// limit, never held in memory. A token that arrives before the file (in the
// query, the Authorization header or an earlier part) is checked before
// the file is read. Once the whole body is read, wherever the token and
// title were in it, the upload is authenticated and the file is
// sent on to the video service with its exact length, so that the service
// can tell a complete file from one cut off on the way.
func (g *Gateway) publish(c *fiber.Ctx) error {
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return errNotMultipart
	}
	if n := c.Request().Header.ContentLength(); n > 0 && int64(n) > g.media.MaxUpload+envelopeSlack {
		c.Context().SetConnectionClose()
		return video.TooLarge(g.media.MaxUpload)
	}
	body := web.StreamBody(c)
	if body == nil {
		return errNotMultipart
	}
	defer body.Finish(envelopeSlack)
	up := upload{token: headerToken(c), title: c.Query("title")}

	var spooled *os.File
	defer func() {
		if spooled != nil {
			_ = spooled.Close()
			_ = os.Remove(spooled.Name())
		}
	}()
	var size int64
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errBadMultipart
		}
		switch part.FormName() {
		case "token", "title":
			v, err := readField(part)
			if err != nil {
				return err
			}
			if part.FormName() == "token" {
				up.token = v
			} else {
				up.title = v
			}
		case "data":
			if spooled != nil {
				return errTwoFiles
			}
			// A token that came first is checked before the file is read:
			// a bad one must not cost a spooled upload.
			if up.token != "" {
				if _, err := g.tokens.Verify(up.token); err != nil {
					return err
				}
			}
			if spooled, size, err = g.spool(part); err != nil {
				return err
			}
		}
	}

	author, title, err := g.check(up)
	if err != nil {
		return err
	}
	if spooled == nil {
		return video.ErrNoFile
	}
	v, err := g.svc.Videos.Publish(c.UserContext(), author, title, spooled, size)
	if err != nil {
		return err
	}
	return g.published(c, v)
}

// published answers a successful publish with the new video.
func (g *Gateway) published(c *fiber.Ctx, v video.Video) error {
	list, err := g.composeVideos(c.UserContext(), v.AuthorID, g.baseURL(c), []video.Video{v})
	if err != nil {
		return err
	}
	return c.JSON(publishResponse{Status: web.OK(), Video: list[0]})
}

// headerToken finds a token in the query string or an Authorization: Bearer
// header, without touching the body.
func headerToken(c *fiber.Ctx) string {
	if t := c.Query("token"); t != "" {
		return t
	}
	scheme, tok, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

func readField(part io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxField+1))
	if err != nil {
		return "", errBadMultipart
	}
	if len(b) > maxField {
		return "", errFieldTooLong
	}
	return string(b), nil
}

// check authenticates the upload's token and normalises its title.
func (g *Gateway) check(up upload) (author int64, title string, err error) {
	if up.token == "" {
		return 0, "", errNoToken
	}
	if author, err = g.tokens.Verify(up.token); err != nil {
		return 0, "", err
	}
	if title, err = video.NormalizeTitle(up.title); err != nil {
		return 0, "", err
	}
	return author, title, nil
}

// spool copies a file that arrived before the token or title to disk,
// refusing it as soon as it is not a video or grows past the limit.
func (g *Gateway) spool(part io.Reader) (*os.File, int64, error) {
	r, err := sniffed(part)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.CreateTemp(g.media.SpoolDir, "upload-*")
	if err != nil {
		return nil, 0, fmt.Errorf("spool upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, g.media.MaxUpload+1))
	if err == nil && n > g.media.MaxUpload {
		err = video.TooLarge(g.media.MaxUpload)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, 0, fmt.Errorf("spool upload: %w", err)
		}
		if apierr.KindOf(err) == apierr.TooLarge {
			return nil, 0, err
		}
		return nil, 0, errBadMultipart
	}
	return f, n, nil
}

// sniffed returns a reader of the whole file once its first bytes show a
// supported video, so that an empty file or one of another kind is refused
// before anything is sent on.
func sniffed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, video.SniffLen)
	head, err := br.Peek(video.SniffLen)
	switch {
	case len(head) == 0 && errors.Is(err, io.EOF):
		return nil, video.ErrEmptyFile
	case err != nil && !errors.Is(err, io.EOF):
		return nil, errBadMultipart
	}
	if _, ok := video.Sniff(head); !ok {
		return nil, video.ErrNotVideo
	}
	return br, nil
}
