package wcauth

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// maxFormBytes caps the form body read for OAuth parameters (1 MiB); a
// larger body is not parsed and is left for the handler untouched.
const maxFormBytes = 1 << 20

// homeURL returns the site's home URL without a trailing slash: HomeURL, or
// the request's scheme and Host when HomeURL is empty.
func homeURL(req Request) string {
	if req.HomeURL != "" {
		return strings.TrimRight(req.HomeURL, "/")
	}
	scheme := "http"
	if req.Secure {
		scheme = "https"
	}
	return scheme + "://" + req.HTTP.Host
}

var reURLScheme = regexp.MustCompile(`^\w+://`)
var reURLSchemeHost = regexp.MustCompile(`^\w+://[^/]*`)

// homeWithScheme is set_url_scheme(home, http|https).
func homeWithScheme(req Request) string {
	scheme := "http"
	if req.Secure {
		scheme = "https"
	}
	return reURLScheme.ReplaceAllLiteralString(homeURL(req), scheme+"://")
}

// homePath is the path of the home URL without surrounding slashes
// ("" for a site at the root).
func homePath(req Request) string {
	rel := strings.TrimSpace(reURLSchemeHost.ReplaceAllLiteralString(homeURL(req), ""))
	return strings.Trim(rel, "/")
}

// rawRequestPath is wp_parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH):
// the path as the client sent it, still percent-encoded.
func rawRequestPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	switch {
	case strings.HasPrefix(uri, "//"):
		rest := uri[2:]
		i := strings.IndexAny(rest, "/?#")
		if i < 0 || rest[i] != '/' {
			return ""
		}
		uri = rest[i:]
	case !strings.HasPrefix(uri, "/"):
		return r.URL.EscapedPath()
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// restBaseURI is the base URI WC_REST_Authentication signs:
// get_home_url(null, path, scheme) where path is the request path without
// the home path.
func restBaseURI(req Request) string {
	path := rawRequestPath(req.HTTP)
	wpBase := "/"
	if hp := homePath(req); hp != "" {
		wpBase = "/" + hp + "/"
	}
	path = strings.TrimPrefix(path, wpBase)
	base := homeWithScheme(req)
	if phpTruthy(path) {
		base += "/" + strings.TrimLeft(path, "/")
	}
	return base
}

var reLegacyRoute = regexp.MustCompile(`[^a-zA-Z0-9_/-]`)

// legacyServerPath is WC()->api->server->path: the wc-api-route query value
// (cleaned as the legacy plugin does), or the part of the request path after
// /wc-api/vN, url-decoded once, without a trailing slash ("/" for the
// index). pretty reports that it came from the path.
func legacyServerPath(req Request, get *phpArray) (path string, pretty bool) {
	if v, ok := get.get(phpKey{s: "wc-api-route"}); ok && !valueEmpty(v) && v.arr == nil {
		return reLegacyRoute.ReplaceAllLiteralString(v.s, ""), false
	}
	p := strings.Trim(rawRequestPath(req.HTTP), "/")
	if hp := homePath(req); hp != "" && len(p) >= len(hp) && strings.EqualFold(p[:len(hp)], hp) {
		p = strings.Trim(p[len(hp):], "/")
	}
	rest, ok := strings.CutPrefix(p, "wc-api/v")
	if !ok || rest == "" || rest[0] < '1' || rest[0] > '3' {
		return "/", false
	}
	rest = rest[1:]
	if rest == "" || rest == "/" {
		return "/", true
	}
	return phpURLDecode(rest), true
}

// legacyBaseURI is the legacy base URI: the API URL of version N without
// its trailing slash (home + "/wc-api/vN"), then the server path, plus a
// trailing slash for legacy v3 when the requested path had one (the
// REDIRECT_URL rule).
func legacyBaseURI(req Request, get *phpArray) (base, serverPath string) {
	serverPath, pretty := legacyServerPath(req, get)
	path := serverPath
	if req.API == LegacyV3 && pretty && strings.HasSuffix(rawRequestPath(req.HTTP), "/") {
		path += "/"
	}
	return homeWithScheme(req) + "/wc-api/v" + strconv.Itoa(legacyVersion(req.API)) + path, serverPath
}

// legacyVersion is N of /wc-api/vN.
func legacyVersion(api API) int {
	switch api {
	case LegacyV1:
		return 1
	case LegacyV2:
		return 2
	}
	return 3
}

// formParams returns the urlencoded form body of a POST request as PHP's
// $_POST, and leaves r.Body readable from the start. Other requests, other
// content types and bodies over 1 MiB give an empty array.
func formParams(r *http.Request) *phpArray {
	empty := newPHPArray()
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return empty
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return empty
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), r.Body), closer: r.Body}
	if err != nil || len(buf) > maxFormBytes {
		return empty
	}
	return parsePHPQueryTree(string(buf))
}

// replayBody serves the bytes already read, then the rest of the original
// body, and closes the original.
type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }
