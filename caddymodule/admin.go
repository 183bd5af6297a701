package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// adminKeysPath is the admin API path of the API keys.
const adminKeysPath = "/wc_webhooks/keys"

// maxAdminBody caps admin request bodies (64 KiB).
const maxAdminBody = 64 << 10

// AdminAPI is the `admin.api.wc_webhooks` module: endpoints on Caddy's admin
// API (localhost only by default) that manage the API keys of `auth keys`
// in the running config's Redis, the embedded one included:
//
//	GET    /wc_webhooks/keys?site=<name>        list keys (never secrets)
//	POST   /wc_webhooks/keys                    add a key; body
//	       {"site": "...", "user_id": 1, "description": "...", "permissions": "read_write"}
//	       answers 201 with the consumer key and secret, shown only this once
//	DELETE /wc_webhooks/keys/<id>?site=<name>   delete a key
//	POST   /wc_webhooks/import                  import webhooks from WordPress;
//	       body ImportRequest, answers ImportResponse (no secrets)
//
// `caddy wc-webhooks` uses them when it is given no Redis URL.
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.wc_webhooks",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes returns the admin routes of the API keys and the import.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: adminKeysPath, Handler: caddy.AdminHandlerFunc(a.handleKeys)},
		{Pattern: adminKeysPath + "/", Handler: caddy.AdminHandlerFunc(a.handleKey)},
		{Pattern: adminImportPath, Handler: caddy.AdminHandlerFunc(a.handleImport)},
	}
}

// KeyView is an API key as the admin API and the CLI show it: no secret.
type KeyView struct {
	KeyID        int64  `json:"key_id"`
	UserID       int64  `json:"user_id"`
	Description  string `json:"description"`
	Permissions  string `json:"permissions"`
	TruncatedKey string `json:"truncated_key"`
}

// NewKeyView is a key just created: the view plus its consumer key and
// secret, which are shown only this once.
type NewKeyView struct {
	KeyView
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
}

// AddKeyRequest is the body of POST /wc_webhooks/keys. UserID defaults to
// 1, Permissions to "read_write".
type AddKeyRequest struct {
	Site        string `json:"site"`
	UserID      int64  `json:"user_id,omitempty"`
	Description string `json:"description,omitempty"`
	Permissions string `json:"permissions,omitempty"`
}

func viewOf(k redisstore.APIKey) KeyView {
	return KeyView{KeyID: k.KeyID, UserID: k.UserID, Description: k.Description, Permissions: k.Permissions, TruncatedKey: k.TruncatedKey}
}

// handleKeys serves GET and POST on /wc_webhooks/keys.
func (a *AdminAPI) handleKeys(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet:
		site, err := adminSite(r.URL.Query().Get("site"))
		if err != nil {
			return err
		}
		keys, err := site.ListAPIKeys(r.Context())
		if err != nil {
			return apiErr(http.StatusInternalServerError, fmt.Errorf("listing API keys: %w", err))
		}
		views := make([]KeyView, 0, len(keys))
		for _, k := range keys {
			views = append(views, viewOf(k))
		}
		return writeJSON(w, http.StatusOK, views)
	case http.MethodPost:
		var req AddKeyRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return apiErr(http.StatusBadRequest, fmt.Errorf("decoding request body: %w", err))
		}
		if req.UserID == 0 {
			req.UserID = 1
		}
		if req.Permissions == "" {
			req.Permissions = redisstore.PermReadWrite
		}
		site, err := adminSite(req.Site)
		if err != nil {
			return err
		}
		ck, cs, key, err := site.AddAPIKey(r.Context(), req.UserID, req.Description, req.Permissions)
		if err != nil {
			return apiErr(http.StatusBadRequest, fmt.Errorf("adding API key: %w", err))
		}
		return writeJSON(w, http.StatusCreated, NewKeyView{KeyView: viewOf(*key), ConsumerKey: ck, ConsumerSecret: cs})
	default:
		return apiErr(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
	}
}

// handleKey serves DELETE on /wc_webhooks/keys/<id>.
func (a *AdminAPI) handleKey(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodDelete {
		return apiErr(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, adminKeysPath+"/"), 10, 64)
	if err != nil || id <= 0 {
		return apiErr(http.StatusBadRequest, errors.New("the path must end in a positive key id"))
	}
	site, err := adminSite(r.URL.Query().Get("site"))
	if err != nil {
		return err
	}
	ok, err := site.DeleteAPIKey(r.Context(), id)
	if err != nil {
		return apiErr(http.StatusInternalServerError, fmt.Errorf("deleting API key %d: %w", id, err))
	}
	if !ok {
		return apiErr(http.StatusNotFound, fmt.Errorf("API key %d not found for site %s", id, site.Name()))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}

// adminSite opens a site of the running config's wc_webhooks app.
func adminSite(name string) (*redisstore.Site, error) {
	if name == "" {
		return nil, apiErr(http.StatusBadRequest, errors.New("site is required"))
	}
	appAny, err := caddy.ActiveContext().AppIfConfigured("wc_webhooks")
	if err != nil {
		return nil, apiErr(http.StatusNotFound, errors.New("the running config has no wc_webhooks app or handler"))
	}
	app, ok := appAny.(*App)
	if !ok {
		return nil, apiErr(http.StatusInternalServerError, fmt.Errorf("wc_webhooks app has unexpected type %T", appAny))
	}
	site, err := app.Store().Site(name)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, err)
	}
	return site, nil
}

func apiErr(status int, err error) error {
	return caddy.APIError{HTTPStatus: status, Err: err}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the status is out; nothing to add
	return nil
}

// Interface guards
var _ caddy.AdminRouter = (*AdminAPI)(nil)
