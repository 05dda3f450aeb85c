package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// Path is where the webhook is served.
const Path = "/mutate-pods"

// maxBodyBytes bounds an AdmissionReview: the API server stores objects of
// up to about 3 MiB, sent here with their old version at most.
const maxBodyBytes = 8 << 20

// Keys of the audit annotations the webhook returns; the API server
// prefixes them with the webhook's name.
const (
	AuditDecision = "decision"
	AuditMessage  = "message"
)

// Config is what a Handler reads.
type Config struct {
	// Policies lists the namespaces' TenantPolicies.
	Policies listers.TenantPolicyLister
	// Profiles holds the WorkloadProfiles, indexed with
	// demand.ProfileIndexers.
	Profiles cache.Indexer
	// ProfileStalenessLimit is the age beyond which a profile is treated
	// as missing; 0 accepts any age.
	ProfileStalenessLimit time.Duration
	// Options of rightsize.Decide; Now is set per request.
	Options rightsize.Options
	// Metrics, if not nil, count the requests.
	Metrics *Metrics
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
}

// Handler answers pod AdmissionReviews (admission.k8s.io/v1). It allows
// every request, whatever happens: a pod creation gets a JSON Patch when
// rightsizing changes its requests, and otherwise an audit annotation (and,
// where the namespace asked for rightsizing, a warning) saying why not.
// Anything but the creation of a pod is allowed unchanged. It reads
// policies and profiles from informer caches only.
type Handler struct {
	cfg     Config
	decoder runtime.Decoder
}

// NewHandler returns a Handler; Policies and Profiles are required.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Policies == nil || cfg.Profiles == nil {
		return nil, errors.New("the webhook needs TenantPolicy and WorkloadProfile caches")
	}
	if _, ok := cfg.Profiles.GetIndexers()[demand.ProfileIndex]; !ok {
		return nil, fmt.Errorf("the WorkloadProfile cache lacks the %s index (demand.ProfileIndexers)", demand.ProfileIndex)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(admissionv1.AddToScheme(scheme))
	utilruntime.Must(v1.AddToScheme(scheme))
	return &Handler{cfg: cfg, decoder: serializer.NewCodecFactory(scheme).UniversalDeserializer()}, nil
}

var podsResource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}

// ServeHTTP answers one AdmissionReview.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Clock.Now()
	result := h.serve(w, r)
	h.cfg.Metrics.observe(result, h.cfg.Clock.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) string {
	logger := klog.FromContext(r.Context())
	// A request that is not an AdmissionReview gets an HTTP error: the
	// API server then applies the failure policy (Ignore).
	if r.Method != http.MethodPost {
		http.Error(w, "only POST is served", http.StatusMethodNotAllowed)
		return ResultError
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != runtime.ContentTypeJSON {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return ResultError
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, fmt.Sprintf("reading the request: %v", err), http.StatusBadRequest)
		return ResultError
	}
	review := &admissionv1.AdmissionReview{}
	if _, _, err := h.decoder.Decode(body, nil, review); err != nil {
		http.Error(w, fmt.Sprintf("decoding the AdmissionReview: %v", err), http.StatusBadRequest)
		return ResultError
	}
	if review.Request == nil {
		http.Error(w, "the AdmissionReview has no request", http.StatusBadRequest)
		return ResultError
	}
	resp, result := h.admit(r.Context(), review.Request)
	resp.UID = review.Request.UID
	out, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	})
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding the response: %v", err), http.StatusInternalServerError)
		return ResultError
	}
	w.Header().Set("Content-Type", runtime.ContentTypeJSON)
	if _, err := w.Write(out); err != nil {
		logger.V(4).Info("Writing the admission response failed", "err", err)
	}
	return result
}

// admit decides on one admission request; it always allows it.
func (h *Handler) admit(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	resp := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Resource != podsResource || req.SubResource != "" || req.Operation != admissionv1.Create {
		return resp, ResultIgnored
	}
	logger := klog.FromContext(ctx)
	pod := &v1.Pod{}
	if _, _, err := h.decoder.Decode(req.Object.Raw, nil, pod); err != nil {
		logger.Error(err, "Decoding a pod failed", "namespace", req.Namespace, "name", req.Name)
		resp.Warnings = []string{fmt.Sprintf("foresight rightsizing: requests kept: cannot decode the pod: %v", err)}
		return resp, ResultError
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	logger = klog.LoggerWithValues(logger, "pod", klog.KRef(pod.Namespace, name))

	policy, err := h.cfg.Policies.TenantPolicies(pod.Namespace).Get(foresightv1alpha1.TenantPolicyName)
	var spec *foresightv1alpha1.TenantPolicySpec
	switch {
	case err == nil:
		spec = &policy.Spec
	case !apierrors.IsNotFound(err):
		logger.Error(err, "Reading the namespace's TenantPolicy failed")
	}
	now := h.cfg.Clock.Now()
	var status *foresightv1alpha1.WorkloadProfileStatus
	wp, fallback := demand.ProfileFor(h.cfg.Profiles, pod, now, h.cfg.ProfileStalenessLimit)
	if wp != nil {
		status = &wp.Status
	}
	opts := h.cfg.Options
	opts.Now = now
	d := rightsize.Decide(pod, spec, status, opts)
	msg := d.Message
	if d.Reason == rightsize.NoProfile && fallback != "" {
		msg += " (profile " + fallback + ")"
	}
	resp.AuditAnnotations = map[string]string{AuditDecision: string(d.Reason), AuditMessage: msg}
	if !d.Changed {
		// The namespace asked for rightsizing: say why this pod is not.
		if d.Reason != rightsize.Disabled && d.Reason != rightsize.AlreadyRightsized {
			resp.Warnings = []string{"foresight rightsizing: requests kept: " + msg}
		}
		logger.V(5).Info("Requests kept", "reason", d.Reason, "message", msg)
		return resp, string(d.Reason)
	}
	ops, err := rightsize.Patch(pod, d)
	if err == nil {
		resp.Patch, err = json.Marshal(ops)
	}
	if err != nil {
		logger.Error(err, "Building the rightsizing patch failed")
		resp.AuditAnnotations = map[string]string{AuditDecision: ResultError, AuditMessage: err.Error()}
		return resp, ResultError
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.PatchType = &pt
	logger.V(4).Info("Rightsized pod", "class", d.Class, "source", d.Source, "message", msg)
	return resp, string(d.Reason)
}
