// Package annotations is the contract of the foresight.dev/ pod annotations:
// it parses and validates them and checks them against the namespace's
// TenantPolicy. docs/annotations.md documents every key.
package annotations
