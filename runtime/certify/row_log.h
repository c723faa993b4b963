// certify's out: file. Randomized smoothing takes minutes per input at the reference's n, so each
// row is appended to a TSV file as soon as it is certified (as the reference certify.py writes its
// outfile): a run stopped by Ctrl-C, SIGTERM, a limit or a crash keeps every finished row, and a
// rerun with the same file and settings continues after them. Input i's noise comes from a stream
// keyed by (seed, i), so the continued certificate equals an uninterrupted one.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "runtime/certify/certificate.h"

namespace perturb {

class CertificateRowLog {
 public:
  // Opens `path` for the certification `settings` names (method, sampling, seed, inputs): rows an
  // earlier run with the same settings left there are read back; a file written for other
  // settings, or one that is not such a file, is an IoError naming it (nothing is overwritten).
  CertificateRowLog(std::string path, std::string settings);

  // Rows already certified, by input index.
  const std::map<int64_t, CertificateRow>& done() const { return done_; }
  // Appends one row and flushes it to the file.
  void append(const CertificateRow& row);
  const std::string& path() const { return path_; }

 private:
  void read_back();

  std::string path_;
  std::string settings_;
  std::map<int64_t, CertificateRow> done_;
  std::ofstream out_;
};

}  // namespace perturb
