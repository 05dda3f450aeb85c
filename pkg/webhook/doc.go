// Package webhook is Foresight's rightsizing admission webhook: an HTTP
// handler for pod AdmissionReviews that applies rightsize.Decide, its
// metrics, and the TLS serving certificates it runs with.
package webhook
