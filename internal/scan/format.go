package scan

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
)

// The SBOM formats a scan can return.
const (
	FormatCycloneDXJSON = "cyclonedx-json"
	FormatSPDXJSON      = "spdx-json"
	FormatSyftJSON      = "syft-json"
)

// Formats lists the SBOM formats, sorted.
var Formats = []string{FormatCycloneDXJSON, FormatSPDXJSON, FormatSyftJSON}

func validFormat(f string) bool { return slices.Contains(Formats, f) }

var nowUTC = func() time.Time { return time.Now().UTC() }

func encode(sb *sbom.SBOM, format string) ([]byte, error) {
	var enc sbom.FormatEncoder
	var err error
	switch format {
	case FormatSyftJSON:
		enc, err = syftjson.NewFormatEncoderWithConfig(syftjson.DefaultEncoderConfig())
	case FormatCycloneDXJSON:
		enc, err = cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.DefaultEncoderConfig())
	case FormatSPDXJSON:
		enc, err = spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	default:
		return nil, fmt.Errorf("unknown SBOM format %q", format)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := enc.Encode(&buf, *sb); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sbomIn returns the entry's SBOM in format, encoding it once and caching
// the document: some formats carry a timestamp or a random serial number,
// and a data source must give the same answer at every plan.
func (s *Scanner) sbomIn(ce *cachedEntry, format string) (string, error) {
	if !ce.entry.Licenses {
		// Never an SBOM without the licenses it should list; scanResolved
		// catalogs with licenses whenever a format is asked for.
		return "", fmt.Errorf("the SBOM of %s was cataloged without licenses", ce.entry.Digest)
	}
	mu := s.lock(ce.entry)
	mu.Lock()
	defer mu.Unlock()
	if doc, err := s.cache.LoadSBOM(ce.entry, format); err == nil {
		return string(doc), nil
	}
	src := ce.syftJSON
	if src == nil {
		var err error
		if src, err = s.cache.LoadSBOM(ce.entry, FormatSyftJSON); err != nil {
			return "", fmt.Errorf("%w: %w", errCorruptSBOM, err)
		}
	}
	if format == FormatSyftJSON {
		return string(src), nil
	}
	sb, _, _, err := syftjson.NewFormatDecoder().Decode(bytes.NewReader(src))
	if err != nil {
		return "", err
	}
	doc, err := encode(sb, format)
	if err != nil {
		return "", err
	}
	// A cache that cannot be written only means the document is made again.
	if s.cache.StoreSBOM(ce.entry, format, doc) == nil {
		_ = s.cache.Store(ce.entry)
	}
	return string(doc), nil
}
