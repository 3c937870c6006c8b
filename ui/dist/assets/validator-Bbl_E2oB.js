import{T as i}from"./index-BZX3YfzY.js";const n=o=>["",...i].includes(o);export{n as i};
