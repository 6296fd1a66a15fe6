# One static library per module (src/<name>/*.cpp -> cifarbench_<name>), each linking only the
# modules it may use, and a build-time check that a module's sources include headers of those
# modules only (cmake/CheckLayers.cmake). The declared graph is the architecture's layering:
# docs/architecture.md draws it.
#
#   cifarbench_module(NAME DEPENDS mod... [SOURCES file...] [NO_LIBRARY])
#
# SOURCES replaces the default glob (src/NAME/*.cpp); NO_LIBRARY declares the module's
# dependencies for the check without building a library (the executable's own folder).

function(cifarbench_module name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_LIBRARY" "" "DEPENDS;SOURCES")
  set_property(GLOBAL APPEND PROPERTY CIFARBENCH_MODULES ${name})
  set_property(GLOBAL PROPERTY CIFARBENCH_MODULE_DEPS_${name} "${ARG_DEPENDS}")
  if(ARG_NO_LIBRARY)
    return()
  endif()
  if(ARG_SOURCES)
    set(_sources ${ARG_SOURCES})
  else()
    file(GLOB _sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  endif()
  add_library(cifarbench_${name} STATIC ${_sources})
  target_compile_options(cifarbench_${name} PRIVATE ${CIFARBENCH_WARNINGS})
  foreach(_dep ${ARG_DEPENDS})
    target_link_libraries(cifarbench_${name} PUBLIC cifarbench_${_dep})
  endforeach()
endfunction()

# Writes the declared graph (with each module's transitive dependencies) and adds a target that
# every build runs: it fails, naming the file and the include, on an include across the layers.
function(cifarbench_check_layers)
  get_property(_modules GLOBAL PROPERTY CIFARBENCH_MODULES)
  set(_lines "")
  foreach(_m ${_modules})
    set(_closure "")
    set(_todo ${_m})
    while(_todo)
      list(POP_FRONT _todo _x)
      get_property(_deps GLOBAL PROPERTY CIFARBENCH_MODULE_DEPS_${_x})
      foreach(_d ${_deps})
        if(NOT _d IN_LIST _closure)
          list(APPEND _closure ${_d})
          list(APPEND _todo ${_d})
        endif()
      endforeach()
    endwhile()
    list(JOIN _closure " " _closure_text)
    string(APPEND _lines "${_m}: ${_closure_text}\n")
  endforeach()
  set(_file ${PROJECT_BINARY_DIR}/module-layers.txt)
  file(WRITE ${_file} "${_lines}")
  file(GLOB_RECURSE _checked CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.h)
  add_custom_command(
    OUTPUT ${PROJECT_BINARY_DIR}/module-layers.ok
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DLAYERS=${_file}
            -DSTAMP=${PROJECT_BINARY_DIR}/module-layers.ok -P ${PROJECT_SOURCE_DIR}/cmake/CheckLayers.cmake
    DEPENDS ${_checked} ${_file} ${PROJECT_SOURCE_DIR}/cmake/CheckLayers.cmake
    COMMENT "Checking the module layering (cmake/CifarbenchModules.cmake)"
    VERBATIM)
  add_custom_target(cifarbench_layers ALL DEPENDS ${PROJECT_BINARY_DIR}/module-layers.ok)
  foreach(_m ${_modules})
    if(TARGET cifarbench_${_m})
      add_dependencies(cifarbench_${_m} cifarbench_layers)
    endif()
  endforeach()
endfunction()
