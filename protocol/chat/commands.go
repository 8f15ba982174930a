package chat

import (
	"fmt"
	"strings"

	"chatlab/protocol"
)

// HelpText lists the commands; the server sends it for /help, so a person
// on netcat sees it too.
const HelpText = "commands: /nick NAME (change your name), /who (list members), /quit (leave), /help"

// maxShownCommand is how much of an unknown command is echoed back. Shown
// escaped, control characters grow up to eight times; cut short, the
// notice always fits in one line.
const maxShownCommand = 40

// command runs one slash command for m and reports whether m quits.
func (s *Server) command(line string, m *member, name *string, peer string) (quit bool) {
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit":
		return true
	case "/who":
		names := s.room.names()
		m.send(notice(fmt.Sprintf("%d in the room: %s", len(names), joinNames(names))))
	case "/help":
		m.send(notice(HelpText))
	case "/nick":
		if err := protocol.ValidName(arg); err != nil {
			m.send(notice("error: " + err.Error()))
			return false
		}
		if arg == *name {
			return false
		}
		if !s.room.rename(*name, arg, m) {
			m.send(notice("error: the name " + arg + " is taken"))
			return false
		}
		s.log.Printf("%s: %s is now known as %s", peer, *name, arg)
		*name = arg
	default:
		if len(cmd) > maxShownCommand {
			cmd = cmd[:maxShownCommand] + "..."
		}
		m.send(notice("error: unknown command " + protocol.Sanitize(cmd) + "; /help lists commands"))
	}
	return false
}
