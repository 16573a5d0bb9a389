# Stands in for bunny's spec/spec_helper.rb (which loads its Gemfile through Bundler): loads the
# bunny library named by BUNNY_LIB and sends connections that name no port to BUNNY_TEST_PORT.
$LOAD_PATH.unshift ENV.fetch("BUNNY_LIB")
require "bunny"
require "bunny/test_kit"
puts "Using Ruby #{RUBY_VERSION}, bunny #{Bunny::VERSION}, amq-protocol #{AMQ::Protocol::VERSION}, port #{ENV.fetch('BUNNY_TEST_PORT')}"
module PortFromEnvironment
  def port_from(options)
    options.fetch(:port, Integer(ENV.fetch("BUNNY_TEST_PORT")))
  end
end
Bunny::Session.prepend(PortFromEnvironment)
