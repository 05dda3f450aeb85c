package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/foresight-dev/foresight/pkg/demand"
)

func TestCells(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"demand from a record", compact("cpu=400m,memory=800Mi"), "400m/800Mi"},
		{"demand without memory", compact("cpu=1"), "1/0"},
		{"demand with other resources kept whole", compact("cpu=1,network=5M"), "cpu=1,network=5M"},
		{"vector in whole MiB", vectorCell(demand.Vector{1500, 3 << 30}), "1500m/3Gi"},
		{"vector memory rounded up to a MiB", vectorCell(demand.Vector{4559, 9979827581}), "4559m/9518Mi"},
		{"whole cores", cores(16000), "16"},
		{"cores with a decimal", cores(12750), "12.8"},
		{"share", share(12700, 16000), "12.7 (79%)"},
		{"share of nothing", share(0, 0), "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("cell mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNaturalLess(t *testing.T) {
	names := []string{"shop/web-10", "shop/cart-1", "shop/web-2", "shop/web-1", "shop/web"}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	want := []string{"shop/cart-1", "shop/web", "shop/web-1", "shop/web-2", "shop/web-10"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("a bb ccc dddd eeeee", "- ", "  ", 10)
	want := "- a bb ccc\n  dddd\n  eeeee"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrap mismatch (-want +got):\n%s", diff)
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		name  string
		fill  func(*table)
		right map[int]bool
		want  string
	}{
		{
			name: "columns aligned, last cell not padded",
			fill: func(t *table) {
				t.row("POD", "REQUESTS", "SCORE")
				t.row("web-10", "1/2Gi → 400m/800Mi", "7")
			},
			want: "> POD     REQUESTS            SCORE\n> web-10  1/2Gi → 400m/800Mi  7\n",
		},
		{
			name:  "numbers right, sections outside the alignment",
			right: map[int]bool{1: true},
			fill: func(t *table) {
				t.row("POD", "SCORE")
				t.section("a long section line wider than the columns")
				t.row("web-0", "7")
			},
			want: "> " + `  POD    SCORE
> a long section line wider than the columns
>   web-0      7
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := &table{right: tc.right}
			tc.fill(tab)
			var b strings.Builder
			tab.write(&b, "> ")
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("table mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
