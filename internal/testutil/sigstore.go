package testutil

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"
	"github.com/go-openapi/strfmt"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/sigstore/fulcio/pkg/certificate"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // rekor entry kinds cosign uploads
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" //
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
)

const (
	// These services are never contacted: the sigstore answers in process.
	// rekor.localhost is the checkpoint origin sigstore-go's own test
	// sigstore uses.
	rekorURL  = "https://rekor.localhost"
	fulcioURL = "https://fulcio.localhost"
	tsaURL    = "https://tsa.localhost/api/v1/timestamp"
	ctlogURL  = "https://ctlog.localhost"
)

// Sigstore is an in-process public-good sigstore for tests: a Fulcio-style
// CA (root and intermediate) that embeds SCTs from a CT log, a Rekor v1
// log and an RFC 3161 TSA, all trusted through TrustedRoot.
//
// It plays the part of sigstore-go's testing/ca.VirtualSigstore, which
// cannot be used as it is: its keys are private, its intermediate lives two
// hours and its TSA certificate ten minutes from creation, and its
// certificates start now, so neither an expired certificate nor a
// sigstore that outlives a slow test suite is possible. Its
// certificate templates are followed here.
type Sigstore struct {
	created time.Time

	root          *x509.Certificate
	fulcio        *x509.Certificate
	fulcioKey     *ecdsa.PrivateKey
	tsaIntermed   *x509.Certificate
	tsaLeaf       *x509.Certificate
	tsaLeafKey    *ecdsa.PrivateKey
	rekorKey      *ecdsa.PrivateKey
	ctlogKey      *ecdsa.PrivateKey
	mu            sync.Mutex
	rekorLogIndex int64
}

// NewSigstore creates a test sigstore whose certificates are valid from
// two days before now to two days after.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	s, err := newSigstore(time.Now())
	if err != nil {
		t.Fatalf("creating the test sigstore: %v", err)
	}
	return s
}

func newSigstore(now time.Time) (*Sigstore, error) {
	s := &Sigstore{created: now}
	start, end := now.Add(-48*time.Hour), now.Add(48*time.Hour)
	keys := make([]*ecdsa.PrivateKey, 6)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	rootKey, tsaIntermedKey := keys[0], keys[1]
	s.fulcioKey, s.tsaLeafKey, s.rekorKey, s.ctlogKey = keys[2], keys[3], keys[4], keys[5]

	var err error
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sigstore", Organization: []string{"sigstore.dev"}},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if s.root, err = createCert(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey); err != nil {
		return nil, fmt.Errorf("creating the root CA: %w", err)
	}
	s.fulcio, err = createCert(&x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "sigstore-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, s.root, &s.fulcioKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("creating the Fulcio intermediate: %w", err)
	}
	s.tsaIntermed, err = createCert(&x509.Certificate{
		SerialNumber:          big.NewInt(3),
		Subject:               pkix.Name{CommonName: "sigstore-tsa-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, s.root, &tsaIntermedKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("creating the TSA intermediate: %w", err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	s.tsaLeaf, err = createCert(&x509.Certificate{
		SerialNumber: big.NewInt(4),
		Subject:      pkix.Name{CommonName: "sigstore-tsa", Organization: []string{"sigstore.dev"}},
		NotBefore:    start,
		NotAfter:     end,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// RFC 3161 wants the timeStamping EKU alone, and critical.
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, s.tsaIntermed, &s.tsaLeafKey.PublicKey, tsaIntermedKey)
	if err != nil {
		return nil, fmt.Errorf("creating the TSA certificate: %w", err)
	}
	return s, nil
}

func createCert(tmpl, parent *x509.Certificate, pub any, priv crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

// TrustedRoot returns the trusted_root.json text (media type version 0.1)
// for this sigstore's CA, CT log, Rekor log and TSA.
func (s *Sigstore) TrustedRoot(t testing.TB) string {
	t.Helper()
	b, err := s.trustedRoot()
	if err != nil {
		t.Fatalf("building the trusted root: %v", err)
	}
	return string(b)
}

func (s *Sigstore) trustedRoot() ([]byte, error) {
	start := s.created.Add(-48 * time.Hour)
	logs := func(key *ecdsa.PrivateKey, url string) (map[string]*root.TransparencyLog, error) {
		id, err := keyID(key.Public())
		if err != nil {
			return nil, err
		}
		return map[string]*root.TransparencyLog{hex.EncodeToString(id): {
			BaseURL:             url,
			ID:                  id,
			ValidityPeriodStart: start,
			HashFunc:            crypto.SHA256,
			PublicKey:           key.Public(),
			SignatureHashFunc:   crypto.SHA256,
		}}, nil
	}
	rekor, err := logs(s.rekorKey, rekorURL)
	if err != nil {
		return nil, err
	}
	ctlogs, err := logs(s.ctlogKey, ctlogURL)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root:                s.root,
			Intermediates:       []*x509.Certificate{s.fulcio},
			ValidityPeriodStart: start,
			URI:                 fulcioURL,
		}},
		ctlogs,
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{
			Root:                s.root,
			Intermediates:       []*x509.Certificate{s.tsaIntermed},
			Leaf:                s.tsaLeaf,
			ValidityPeriodStart: start,
			URI:                 tsaURL,
		}},
		rekor)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// certProvider is the Fulcio of the sigstore: it issues a ten-minute code
// signing certificate for the keypair with the subject as email or URI
// SAN, the issuer in both Fulcio issuer extensions and an embedded SCT.
type certProvider struct {
	s               *Sigstore
	subject, issuer string
	notBefore       time.Time
}

var _ sign.CertificateProvider = (*certProvider)(nil)

func (c *certProvider) GetCertificate(_ context.Context, kp sign.Keypair, _ *sign.CertificateProviderOptions) ([]byte, error) {
	exts, err := certificate.Extensions{Issuer: c.issuer}.Render()
	if err != nil {
		return nil, fmt.Errorf("rendering the issuer extensions: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       c.notBefore,
		NotAfter:        c.notBefore.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	switch {
	case strings.Contains(c.subject, "://"):
		u, err := parseURL(c.subject)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = u
	case strings.Contains(c.subject, "@"):
		tmpl.EmailAddresses = []string{c.subject}
	default:
		return nil, fmt.Errorf("subject %q is neither an email address nor a URI", c.subject)
	}
	// Fulcio signs a precertificate, gets an SCT for its TBS and embeds the
	// SCT in the final certificate; the TBS without the SCT extension is
	// the same, which is what verifiers rebuild.
	pre, err := createCert(tmpl, c.s.fulcio, kp.GetPublicKey(), c.s.fulcioKey)
	if err != nil {
		return nil, fmt.Errorf("issuing the certificate: %w", err)
	}
	sctExt, err := c.s.sct(pre, c.notBefore)
	if err != nil {
		return nil, fmt.Errorf("logging the certificate: %w", err)
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, sctExt)
	final, err := createCert(tmpl, c.s.fulcio, kp.GetPublicKey(), c.s.fulcioKey)
	if err != nil {
		return nil, fmt.Errorf("issuing the certificate: %w", err)
	}
	return final.Raw, nil
}

// sct returns the embedded-SCT extension of the CT log for pre.
func (s *Sigstore) sct(pre *x509.Certificate, at time.Time) (pkix.Extension, error) {
	id, err := keyID(s.ctlogKey.Public())
	if err != nil {
		return pkix.Extension{}, err
	}
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: [32]byte(id)},
		Timestamp:  uint64(at.UnixMilli()),
	}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			Timestamp: sct.Timestamp,
			EntryType: ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{
				IssuerKeyHash:  sha256.Sum256(s.fulcio.RawSubjectPublicKeyInfo),
				TBSCertificate: pre.RawTBSCertificate,
			},
		},
	}})
	if err != nil {
		return pkix.Extension{}, err
	}
	h := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctlogKey, h[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	// fulcio pkg/ca/baseca generateSCTListExt.
	sctBytes, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: sctBytes}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: value}, nil
}

// tsaTransport answers sigstore-go's timestamp requests in process, as the
// TSA would at time at.
type tsaTransport struct {
	s  *Sigstore
	at time.Time
}

func (tr *tsaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	tsq, err := timestamp.ParseRequest(body)
	if err != nil {
		return nil, fmt.Errorf("parsing the timestamp request: %w", err)
	}
	// sigstore-go testing/ca generateTimestampingResponse.
	resp, err := (&timestamp.Timestamp{
		HashAlgorithm:   tsq.HashAlgorithm,
		HashedMessage:   tsq.HashedMessage,
		Time:            tr.at,
		Policy:          asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		Nonce:           tsq.Nonce,
		ExtraExtensions: tsq.Extensions,
	}).CreateResponseWithOpts(tr.s.tsaLeaf, tr.s.tsaLeafKey, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("creating the timestamp: %w", err)
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": []string{"application/timestamp-reply"}},
		Body:       io.NopCloser(bytes.NewReader(resp)),
		Request:    req,
	}, nil
}

// rekorClient is the Rekor v1 log: it canonicalizes the proposed entry as
// the server does, integrates it at time at and returns it with a signed
// entry timestamp and an inclusion proof in a one-leaf tree.
type rekorClient struct {
	s  *Sigstore
	at time.Time
}

var _ sign.RekorClient = (*rekorClient)(nil)

func (c *rekorClient) CreateLogEntry(params *entries.CreateLogEntryParams, _ ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	ctx := params.Context
	if ctx == nil {
		ctx = context.Background()
	}
	impl, err := types.UnmarshalEntry(params.ProposedEntry)
	if err != nil {
		return nil, fmt.Errorf("reading the proposed entry: %w", err)
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing the entry: %w", err)
	}
	id, err := keyID(c.s.rekorKey.Public())
	if err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	logIndex := c.s.rekorLogIndex
	c.s.rekorLogIndex++
	c.s.mu.Unlock()

	b64Body := base64.StdEncoding.EncodeToString(body)
	integrated := c.at.Unix()
	logID := hex.EncodeToString(id)
	set, err := c.s.signRekorPayload(tlog.RekorPayload{Body: b64Body, IntegratedTime: integrated, LogIndex: logIndex, LogID: logID})
	if err != nil {
		return nil, fmt.Errorf("signing the entry timestamp: %w", err)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	signer, err := signature.LoadECDSASignerVerifier(c.s.rekorKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	const treeID = 1
	checkpoint, err := rekorutil.CreateAndSignCheckpoint(ctx, "rekor.localhost", treeID, 1, leaf, signer)
	if err != nil {
		return nil, fmt.Errorf("signing the checkpoint: %w", err)
	}
	rootHash, cp := hex.EncodeToString(leaf), string(checkpoint)
	treeSize, proofIndex := int64(1), int64(0)
	uuid := hex.EncodeToString(leaf)
	return &entries.CreateLogEntryCreated{
		ETag: uuid,
		Payload: models.LogEntry{uuid: models.LogEntryAnon{
			Body:           b64Body,
			IntegratedTime: &integrated,
			LogID:          &logID,
			LogIndex:       &logIndex,
			Verification: &models.LogEntryAnonVerification{
				SignedEntryTimestamp: strfmt.Base64(set),
				InclusionProof: &models.InclusionProof{
					TreeSize:   &treeSize,
					RootHash:   &rootHash,
					LogIndex:   &proofIndex,
					Hashes:     []string{},
					Checkpoint: &cp,
				},
			},
		}},
	}, nil
}

func (c *rekorClient) GetLogEntryByUUID(*entries.GetLogEntryByUUIDParams, ...entries.ClientOption) (*entries.GetLogEntryByUUIDOK, error) {
	return nil, fmt.Errorf("the test log has no entry lookup")
}

// signRekorPayload makes a signed entry timestamp: the log's signature
// over the canonical JSON of the entry's body, time, index and log ID.
func (s *Sigstore) signRekorPayload(p tlog.RekorPayload) ([]byte, error) {
	j, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	canonical, err := jsoncanonicalizer.Transform(j)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(canonical)
	return ecdsa.SignASN1(rand.Reader, s.rekorKey, h[:])
}

func parseURL(s string) ([]*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parsing subject URI %q: %w", s, err)
	}
	return []*url.URL{u}, nil
}
