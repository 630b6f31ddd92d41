// ParamSet: the parameters given to one pipeline step, e.g. lr=0.005 in
// "logistic_regression(lr=0.005)", read with types and defaults.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rtml {

// Reads typed parameters for a component and remembers which names it asked for, so
// that an unknown parameter can be refused with the list of valid ones, and so that
// the full configuration (defaults included) can be written back as text.
class ParamSet {
 public:
  ParamSet(std::string component, std::map<std::string, std::string> given)
      : component_(std::move(component)), given_(std::move(given)) {}

  double number(const std::string& name, double fallback);
  int64_t integer(const std::string& name, int64_t fallback);
  bool boolean(const std::string& name, bool fallback);
  // Any text, e.g. a column name.
  std::string text(const std::string& name, const std::string& fallback);
  // One of choices; throws Error listing them otherwise.
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& choices);
  bool has(const std::string& name) const { return given_.count(name) > 0; }
  // A value that is itself an expression (an ensemble's model=, a selector's models=[..]):
  // the text as given, or fallback. Its canonical form is the caller's to set with
  // set_canonical() once it has read it.
  std::string expression(const std::string& name, const std::string& fallback);
  // Replaces how canonical() writes a parameter already asked for.
  void set_canonical(const std::string& name, std::string text);

  // Throws Error if a given parameter was never asked for.
  void finish() const;
  // "name(k=v, ...)" with every parameter asked for, in the order asked.
  std::string canonical() const;
  const std::string& component() const { return component_; }

 private:
  const std::string* lookup(const std::string& name);
  std::string component_;
  std::map<std::string, std::string> given_;
  std::vector<std::pair<std::string, std::string>> used_;  // name, value as text
};

}  // namespace rtml
