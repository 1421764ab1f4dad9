package dataset

// pdkCategorical lists the original example's categorical columns with
// their categories, in the order its one-hot encoding uses.
var pdkCategorical = []CategoricalColumn{
	{Name: "new_cell", Categories: []string{"U", "Y", "N"}},
	{Name: "asl_flag", Categories: []string{"N", "Y"}},
	{Name: "area", Categories: []string{
		"NORTHWEST/ROCKY MOUNTAIN AREA", "GREAT LAKES AREA", "CHICAGO AREA",
		"NEW ENGLAND AREA", "DALLAS AREA", "CENTRAL/SOUTH TEXAS AREA", "TENNESSEE AREA",
		"MIDWEST AREA", "PHILADELPHIA AREA", "OHIO AREA", "HOUSTON AREA", "SOUTHWEST AREA",
		"NEW YORK CITY AREA", "ATLANTIC SOUTH AREA", "SOUTH FLORIDA AREA",
		"CALIFORNIA NORTH AREA", "DC/MARYLAND/VIRGINIA AREA", "NORTH FLORIDA AREA",
		"LOS ANGELES AREA",
	}},
	{Name: "dualband", Categories: []string{"Y", "N", "T"}},
	{Name: "refurb_new", Categories: []string{"N", "R"}},
	{Name: "hnd_webcap", Categories: []string{"WCMB", "UNKW", "WC"}},
	{Name: "marital", Categories: []string{"S", "M", "A", "U", "B"}},
	{Name: "ethnic", Categories: []string{
		"N", "U", "I", "S", "F", "J", "Z", "M", "H", "G", "D", "O", "R", "B", "P", "X", "C",
	}},
	{Name: "kid0_2", Categories: []string{"U", "Y"}},
	{Name: "kid3_5", Categories: []string{"U", "Y"}},
	{Name: "kid6_10", Categories: []string{"U", "Y"}},
	{Name: "kid11_15", Categories: []string{"U", "Y"}},
	{Name: "kid16_17", Categories: []string{"U", "Y"}},
	{Name: "creditcd", Categories: []string{"Y", "N"}},
}

// PDKSpec returns the original pdk-churn example's feature spec: 73 numeric
// columns standardised with the original scaling figures, in the column
// order of the original CSV files, then 14 categorical columns one-hot
// encoded over the original category lists, 139 inputs in all; the label
// is churn, 1 or 0. experiment/features.json holds the same spec as JSON.
func PDKSpec() *Spec {
	s := &Spec{Label: "churn", Positive: "1", Negative: "0"}
	s.Numeric = append([]NumericColumn(nil), pdkNumeric...)
	for _, c := range pdkCategorical {
		s.Categorical = append(s.Categorical, CategoricalColumn{
			Name: c.Name, Categories: append([]string(nil), c.Categories...),
		})
	}
	s.Inputs = s.DeriveInputs()
	return s
}

// PDKHeader returns the header of the original example's CSV files: 88
// columns, the label churn among them.
func PDKHeader() []string { return append([]string(nil), pdkHeader...) }
