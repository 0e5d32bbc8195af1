# One example's picture: `netlabctl graph EXAMPLE | dot -Tsvg -o OUT`, run as
# `cmake -DNETLABCTL=... -DDOT=... -DEXAMPLE=... -DOUT=... -P graph_svg.cmake`
# by the docs-graphs target and by tests/cli/test_graph_svg.sh (docs/examples.md).
foreach(v NETLABCTL DOT EXAMPLE OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "graph_svg.cmake: -D${v}=... is missing")
  endif()
endforeach()
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${NETLABCTL}" graph "${EXAMPLE}"
                COMMAND "${DOT}" -Tsvg -o "${OUT}.tmp"
                RESULTS_VARIABLE rcs)
foreach(rc ${rcs})
  if(NOT rc EQUAL 0)
    file(REMOVE "${OUT}.tmp")
    message(FATAL_ERROR "netlabctl graph ${EXAMPLE} | dot -Tsvg: exit codes ${rcs}")
  endif()
endforeach()
file(RENAME "${OUT}.tmp" "${OUT}")
