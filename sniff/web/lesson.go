package web

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
)

// maxLessonText bounds a lesson's text on the page; the longest lesson
// is some 10 KiB of Markdown.
const maxLessonText = 256 << 10

// Section is a part of a lesson's text: a heading and its Markdown body,
// which the page shows as plain paragraphs, lists and code blocks.
type Section struct {
	Heading string `json:"heading"`
	Body    string `json:"body"`
}

// ShowLesson puts a lesson's text in the page's lesson pane, beside the
// live view. No section is shown until ShowSection.
func (v *View) ShowLesson(title string, sections []Section) {
	msg := struct {
		Type     string    `json:"type"`
		Title    string    `json:"title"`
		Sections []Section `json:"sections"`
	}{"lesson", clip(title, maxName), []Section{}}
	size := 0
	for _, s := range sections {
		size += len(s.Heading) + len(s.Body)
		if size > maxLessonText {
			break
		}
		msg.Sections = append(msg.Sections, Section{Heading: clip(s.Heading, maxText), Body: s.Body})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lesson = encode(msg)
	v.section = -1
	v.broadcast(v.lesson)
}

// ShowSection shows section i (from 0) of the lesson, as the terminal
// reaches it.
func (v *View) ShowSection(i int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.section = i
	v.broadcast(sectionMsg(i))
}

func sectionMsg(i int) []byte {
	return encode(struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{"section", i})
}

// Next receives a value when someone at this machine presses Next (or
// the space bar) on the page. Presses before the lesson takes one
// coalesce into one, and a press on a section already left is ignored,
// so two people pressing at once advance the lesson once.
func (v *View) Next() <-chan struct{} { return v.next }

// serveNext takes POST /next?from=N. Only a page on this machine may
// advance the lesson: with --web on a classroom network, the students
// watch, the teacher steers. The custom header keeps other sites' forms
// out: a cross-origin request with it needs a preflight this server
// never grants.
func (v *View) serveNext(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Chatlab") != "next" {
		http.Error(w, "web: POST /next with X-Chatlab: next", http.StatusMethodNotAllowed)
		return
	}
	if !loopbackPeer(r.RemoteAddr) {
		http.Error(w, "web: only the machine running the lesson can advance it", http.StatusForbidden)
		return
	}
	from, err := strconv.Atoi(r.URL.Query().Get("from"))
	if err != nil {
		http.Error(w, "web: from: "+err.Error(), http.StatusBadRequest)
		return
	}
	v.mu.Lock()
	current := v.section
	v.mu.Unlock()
	if from == current {
		select {
		case v.next <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func loopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
