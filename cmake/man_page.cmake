# Build-time script (cmake -P): the man page strain.1 from the CLI's own help, by help2man.
# STRAIN: the built binary; OUT: the page; WORK: a directory for the include file.
# The top-level --help and --version come from help2man itself; each command's --help becomes
# a subsection of COMMANDS, and the exit codes a section of their own.
set(commands run demo soak stress report compare merge)
set(include "[DESCRIPTION]\n.B strain\nruns load, stress and soak tests against HTTP services: an open or closed model, Lua scripts, honest latency (coordinated omission corrected), leak verdicts for long runs and a capacity search.\n\n[COMMANDS]\n")
foreach(cmd ${commands})
  execute_process(COMMAND "${STRAIN}" ${cmd} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man page: '${STRAIN} ${cmd} --help' failed (${rc})")
  endif()
  # roff: a backslash is \e; a line starting with . or ' would be a request.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND include ".SS strain ${cmd}\n.nf\n${help}.fi\n")
endforeach()
string(APPEND include "
[EXIT STATUS]
.TP
.B 0
the run passed
.TP
.B 1
the run failed to start or ran into an internal error
.TP
.B 2
bad usage: a flag, URL, script, data or result file named in the message; no traffic was sent
.TP
.B 3
a threshold, SLO or soak verdict failed
.TP
.B 4
generator-bound: strain could not keep its own schedule, so its figures are a lower bound
.TP
.B 130
interrupted (SIGINT or SIGTERM); what was measured is written, marked partial

[SEE ALSO]
The README in /usr/share/doc/strain, and the examples beside it.
")
file(WRITE "${WORK}/strain.h2m" "${include}")
execute_process(COMMAND help2man --no-info --no-discard-stderr
                        --name "load, stress and soak testing for HTTP services"
                        --section 1 --include "${WORK}/strain.h2m" --output "${OUT}" "${STRAIN}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man page: help2man failed (${rc})")
endif()
