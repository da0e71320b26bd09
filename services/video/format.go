package video

import (
	"bytes"
	"encoding/binary"
)

// Format is a video container format the service accepts.
type Format string

// The accepted formats.
const (
	MP4  Format = "mp4"
	MOV  Format = "mov"
	WebM Format = "webm"
)

// ContentType is the media type the format is served with.
func (f Format) ContentType() string {
	switch f {
	case MOV:
		return "video/quicktime"
	case WebM:
		return "video/webm"
	default:
		return "video/mp4"
	}
}

// SniffLen is how many leading bytes of a file Sniff looks at.
const SniffLen = 4096

// videoBrands are the ISO base media file brands of video files; a brand
// outside this list (HEIF and AVIF images, JPEG 2000, camera raw) is not a
// video.
var videoBrands = map[string]Format{
	"isom": MP4, "iso2": MP4, "iso3": MP4, "iso4": MP4, "iso5": MP4, "iso6": MP4,
	"iso8": MP4, "iso9": MP4, "mp41": MP4, "mp42": MP4, "mp71": MP4, "avc1": MP4,
	"M4V ": MP4, "M4VH": MP4, "M4VP": MP4, "dash": MP4, "mmp4": MP4, "f4v ": MP4,
	"MSNV": MP4, "qt  ": MOV,
}

// quickTimeAtoms are the first atoms of QuickTime files written without a
// file type box.
var quickTimeAtoms = map[string]bool{"moov": true, "mdat": true, "wide": true, "free": true,
	"skip": true, "pnot": true}

// Sniff tells the container format of a file from its leading bytes (up to
// SniffLen of them), never from its name or a declared content type. It
// reports false for anything that is not MP4, QuickTime or WebM.
func Sniff(head []byte) (Format, bool) {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if f, ok := sniffISO(head); ok {
		return f, true
	}
	if sniffWebM(head) {
		return WebM, true
	}
	return "", false
}

// sniffISO recognises ISO base media files (MP4, QuickTime) by their first
// box: a file type box with a video brand, or a QuickTime atom.
func sniffISO(head []byte) (Format, bool) {
	if len(head) < 12 {
		return "", false
	}
	size := binary.BigEndian.Uint32(head[:4])
	kind := string(head[4:8])
	if kind != "ftyp" {
		if (size >= 8 || size == 1) && quickTimeAtoms[kind] {
			return MOV, true
		}
		return "", false
	}
	if size < 16 {
		return "", false
	}
	if f, ok := videoBrands[string(head[8:12])]; ok {
		return f, true
	}
	// Compatible brands follow the major brand and its minor version.
	end := min(int(size), len(head))
	for i := 16; i+4 <= end; i += 4 {
		if f, ok := videoBrands[string(head[i:i+4])]; ok {
			return f, true
		}
	}
	return "", false
}

// ebmlMagic opens every Matroska and WebM file.
var ebmlMagic = []byte{0x1A, 0x45, 0xDF, 0xA3}

// sniffWebM recognises a WebM file by its EBML header and its DocType
// element (id 0x4282) saying "webm".
func sniffWebM(head []byte) bool {
	if !bytes.HasPrefix(head, ebmlMagic) {
		return false
	}
	limit := min(len(head), 64)
	for i := 4; i+3 <= limit; i++ {
		if head[i] != 0x42 || head[i+1] != 0x82 || head[i+2]&0x80 == 0 {
			continue
		}
		n := int(head[i+2] &^ 0x80) // a one-byte EBML size: 1xxx xxxx
		if i+3+n <= limit && string(head[i+3:i+3+n]) == "webm" {
			return true
		}
	}
	return false
}
