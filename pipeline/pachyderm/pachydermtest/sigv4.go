package pachydermtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// checkSigV4 verifies a request's AWS Signature Version 4 the way the
// gateway does: the secret key is the access key (a Pachyderm token, or
// any value with auth off). It returns the access key.
func checkSigV4(r *http.Request) (string, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", errors.New("not signed with AWS4-HMAC-SHA256")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[3] != "s3" || cred[4] != "aws4_request" {
		return "", fmt.Errorf("credential %q: want key/date/region/s3/aws4_request", fields["Credential"])
	}
	key, date, region := cred[0], cred[1], cred[2]
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, date) {
		return key, fmt.Errorf("X-Amz-Date %q does not match the credential date %s", amzDate, date)
	}
	canon := canonicalRequest(r, strings.Split(fields["SignedHeaders"], ";"))
	sum := sha256.Sum256([]byte(canon))
	scope := date + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+key), date)
	for _, s := range []string{region, "s3", "aws4_request"} {
		k = hmacSHA256(k, s)
	}
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return key, fmt.Errorf("signature does not match the request as received "+
			"(canonical request:\n%s)", canon)
	}
	return key, nil
}

func canonicalRequest(r *http.Request, signed []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		b.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + r.Header.Get("X-Amz-Content-Sha256"))
	return b.String()
}

// awsEscape percent-encodes all but the RFC 3986 unreserved characters.
func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}
