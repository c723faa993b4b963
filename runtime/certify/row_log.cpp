#include "runtime/certify/row_log.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runtime/core/error.h"

namespace perturb {
namespace {

constexpr const char* kColumns = "idx\tlabel\tpredict\tradius\tcorrect\ttime\tsamples";

std::string settings_line(const std::string& settings) {
  return "# perturb certify " + settings;
}

// One row as the reference's columns, the radius in full so a continued certificate is exact.
std::string row_text(const CertificateRow& r) {
  char text[160];
  std::snprintf(text, sizeof text, "%lld\t%lld\t%lld\t%.17g\t%d\t%.4f\t%lld\n",
                static_cast<long long>(r.idx), static_cast<long long>(r.label),
                static_cast<long long>(r.prediction), r.radius, r.correct ? 1 : 0, r.seconds,
                static_cast<long long>(r.samples));
  return text;
}

bool parse_row(const std::string& line, CertificateRow& r) {
  std::istringstream in(line);
  int correct = 0;
  if (!(in >> r.idx >> r.label >> r.prediction >> r.radius >> correct >> r.seconds >> r.samples))
    return false;
  r.correct = correct != 0;
  std::string rest;
  return !(in >> rest) && r.idx >= 0;
}

}  // namespace

CertificateRowLog::CertificateRowLog(std::string path, std::string settings)
    : path_(std::move(path)), settings_(std::move(settings)) {
  std::error_code error;
  if (std::filesystem::is_directory(path_, error))
    throw IoError("certify's out: file '" + path_ + "' is a directory");
  if (std::filesystem::exists(path_, error)) read_back();
  const bool fresh = done_.empty();
  if (fresh) {
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (out_) out_ << settings_line(settings_) << "\n" << kColumns << "\n" << std::flush;
  } else {
    out_.open(path_, std::ios::binary | std::ios::app);
  }
  if (!out_) throw IoError("cannot write certify's out: file '" + path_ + "'");
}

// Reads the rows back; a last line cut short (the process was killed while writing it) is
// dropped and the file truncated before it.
void CertificateRowLog::read_back() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw IoError("cannot read certify's out: file '" + path_ + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return;
  const size_t complete = text.rfind('\n') + 1;  // 0 when there is no whole line
  std::istringstream lines(text.substr(0, complete));
  std::string line;
  std::getline(lines, line);
  if (line.rfind("# perturb certify ", 0) != 0) {
    throw IoError("certify's out: file '" + path_ +
                  "' holds something other than certify's rows; choose another file");
  }
  if (line != settings_line(settings_)) {
    throw IoError("certify's out: file '" + path_ + "' holds rows of another certification (" +
                  line.substr(18) + "), not of " + settings_ +
                  "; remove it or choose another file");
  }
  std::getline(lines, line);  // the column names
  for (int number = 3; std::getline(lines, line); ++number) {
    CertificateRow row;
    if (!parse_row(line, row))
      throw IoError("certify's out: file '" + path_ + "', line " + std::to_string(number) +
                    ": not a row of idx label predict radius correct time samples");
    done_[row.idx] = row;
  }
  std::error_code error;
  if (complete < text.size()) std::filesystem::resize_file(path_, complete, error);
}

void CertificateRowLog::append(const CertificateRow& row) {
  out_ << row_text(row) << std::flush;
  if (!out_) throw IoError("cannot write certify's out: file '" + path_ + "' (disk full?)");
  done_[row.idx] = row;
}

}  // namespace perturb
