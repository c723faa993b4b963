#pragma once
// `perturb kernel`: Perturb as a Jupyter kernel (xeus speaks the protocol). A notebook's cells
// run in one Session, so names live on from cell to cell as in the REPL. See docs/notebook.md.

#include <string>
#include <vector>

namespace perturb::lang {

// `perturb kernel -f CONNECTION_FILE [--seed N] [--device D]` serves a notebook;
// `perturb kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]` writes the
// kernelspec Jupyter finds it by. `args` are the words after "kernel"; returns the exit code.
int kernel_command(const std::vector<std::string>& args);

}  // namespace perturb::lang
