package original

// Conversations returns the scripted conversations the tests and lesson 3
// run through the real program: several speakers, short and long lines,
// lines typed twice, numbers and punctuation.
func Conversations() []Script {
	return []Script{
		{
			Name: "picnic", ServerName: "maria", ClientName: "tom",
			Lines: []Line{
				{true, "hi maria, are we still on for saturday?"},
				{false, "yes! the park by the river, around 11:30"},
				{true, "ok"},
				{false, "can you bring the big blue blanket and 2 bottles of water?"},
				{true, "sure. should I ask ben and priya too?"},
				{false, "ok"},
				{true, "great, see you there"},
				{false, "bye :)"},
			},
		},
		{
			Name: "server", ServerName: "okafor", ClientName: "jun",
			Lines: []Line{
				{false, "the backup server is down again"},
				{true, "which one, db-2?"},
				{false, "yes, db-2. disk at 97% since 04:10 this morning"},
				{true, "I'll log in. what's the admin pass phrase?"},
				{false, "it is purple elephant 42, change it after"},
				{true, "thanks"},
				{true, "done, it's back up and the disk is at 61%"},
				{false, "thanks"},
				{false, "nice work, jun"},
			},
		},
		{
			Name: "trip", ServerName: "alexandra", ClientName: "sam",
			Lines: []Line{
				{true, "did you book the train to Lyon?"},
				{false, "not yet, the 8:05 is 49 euros and the 9:40 is 35"},
				{true, "take the cheaper one, we are not in a hurry"},
				{false, "ok, booked: coach 7, seats 64 and 65"},
				{true, "perfect"},
				{false, "my card number ends in 3318, in case they ask"},
				{true, "noted. what time do we meet at the station?"},
				{false, "9:15 at the big clock, don't be late!"},
				{true, "I won't be late, I promise"},
			},
		},
	}
}
