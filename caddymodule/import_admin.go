package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// adminImportPath is the admin API path of the webhook import.
const adminImportPath = "/wc_webhooks/import"

// maxImportBody caps the body of POST /wc_webhooks/import (64 MiB).
const maxImportBody = 64 << 20

// ImportRequest is the body of POST /wc_webhooks/import: webhooks copied
// from WordPress, secrets included, stored under their own ids (see
// redisstore.Site.ImportWebhooks). With DryRun nothing is written. With
// KeepStoredSecrets a webhook already stored keeps its stored secret (used
// when the secrets given are newly generated, so that importing again
// changes nothing). With KeepStoredState a webhook already stored keeps its
// status, failure count, pending-delivery flag and modified date: once
// imported, the module owns that live state, and WordPress's copy (paused
// there by the migration) must not pause the module's.
type ImportRequest struct {
	Site              string               `json:"site"`
	Webhooks          []redisstore.Webhook `json:"webhooks"`
	DryRun            bool                 `json:"dry_run,omitempty"`
	KeepStoredSecrets bool                 `json:"keep_stored_secrets,omitempty"`
	KeepStoredState   bool                 `json:"keep_stored_state,omitempty"`
}

// ImportResponse is the answer of POST /wc_webhooks/import: what was (or,
// dry, would be) done per webhook, the id counter, and the ids whose stored
// secret was kept. It never holds a secret.
type ImportResponse struct {
	redisstore.ImportReport
	KeptSecrets []int64 `json:"kept_secrets"`
}

// importInto runs an import on a site: webhooks already stored first take
// their stored secret (keepSecrets) and live state (keepState).
func importInto(ctx context.Context, site *redisstore.Site, hooks []redisstore.Webhook, dry, keepSecrets, keepState bool) (ImportResponse, error) {
	resp := ImportResponse{KeptSecrets: []int64{}}
	hooks = append([]redisstore.Webhook(nil), hooks...)
	if (keepSecrets || keepState) && len(hooks) > 0 {
		ids := make([]int64, len(hooks))
		for i := range hooks {
			ids[i] = hooks[i].ID
		}
		stored, err := site.GetWebhooks(ctx, ids)
		if err != nil {
			return resp, fmt.Errorf("reading stored webhooks: %w", err)
		}
		byID := make(map[int64]redisstore.Webhook, len(stored))
		for _, w := range stored {
			byID[w.ID] = w
		}
		for i := range hooks {
			old, ok := byID[hooks[i].ID]
			if !ok {
				continue
			}
			if keepSecrets {
				hooks[i].Secret = old.Secret
				resp.KeptSecrets = append(resp.KeptSecrets, hooks[i].ID)
			}
			if keepState {
				hooks[i].Status, hooks[i].FailureCount = old.Status, old.FailureCount
				hooks[i].PendingDelivery, hooks[i].Modified = old.PendingDelivery, old.Modified
			}
		}
	}
	rep, err := site.ImportWebhooks(ctx, hooks, dry)
	if err != nil {
		return resp, err
	}
	resp.ImportReport = rep
	return resp, nil
}

// handleImport serves POST /wc_webhooks/import.
func (a *AdminAPI) handleImport(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return apiErr(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
	}
	var req ImportRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxImportBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, fmt.Errorf("decoding request body: %w", err))
	}
	site, err := adminSite(req.Site)
	if err != nil {
		return err
	}
	resp, err := importInto(r.Context(), site, req.Webhooks, req.DryRun, req.KeepStoredSecrets, req.KeepStoredState)
	if err != nil {
		return apiErr(http.StatusBadRequest, fmt.Errorf("importing webhooks: %w", err))
	}
	return writeJSON(w, http.StatusOK, resp)
}
